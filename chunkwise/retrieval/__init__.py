"""Query time: the dense/BM25 index over chunks (``index``), compression of retrieved passages
to a token budget (``compression``, BM25 in ``_bm25``), the context budget planner
(``budget``) and retrieval evaluation at a token budget (``evaluation``).
"""

from . import budget as _budget, compression as _compression, evaluation as _evaluation, index as _index
from .budget import *  # noqa: F403
from .compression import *  # noqa: F403
from .evaluation import *  # noqa: F403
from .index import *  # noqa: F403

__all__ = [*_index.__all__, *_compression.__all__, *_budget.__all__, *_evaluation.__all__]
