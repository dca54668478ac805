"""Build the compiled core. All metadata lives in pyproject.toml.

Environment switches:
  CHUNKWISE_DEBUG_BUILD=1   -O0 -g, bounds checks on (for gdb / sanitizers)
  CHUNKWISE_NO_OPENMP=1     build without OpenMP even where the compiler has it
  CHUNKWISE_NATIVE=1        add -march=native (local builds only; not for wheels)
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CHUNKWISE_DEBUG_BUILD") == "1"

# One validated dict: Cython rejects unknown keys here, while a typo in a
# `# cython:` header comment would be silently ignored.
COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": True,
    "embedsignature": True,
}

# Re-association lets gcc vectorise float reductions (3.5x on the cosine
# loops); finite-math is deliberately NOT enabled so NaN checks keep working.
FLOAT_FLAGS = [
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-freciprocal-math",
]


def _compiler() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def _has_openmp() -> bool:
    """True when the C compiler can build and link an OpenMP program."""
    if os.environ.get("CHUNKWISE_NO_OPENMP") == "1" or sys.platform == "win32":
        return False
    code = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(code)
        try:
            result = subprocess.run(
                [*_compiler(), "-fopenmp", src, "-o", os.path.join(tmp, "probe")],
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError):
            return False
    return result.returncode == 0


def _extension(name: str, pyx: str, *, openmp: bool, float_math: bool) -> Extension:
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
    link_args: list[str] = []
    if float_math and not DEBUG:
        compile_args += FLOAT_FLAGS
    if os.environ.get("CHUNKWISE_NATIVE") == "1":
        compile_args.append("-march=native")
    if openmp:
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    return Extension(
        name,
        sources=[pyx],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


OPENMP = _has_openmp() and shutil.which(_compiler()[0]) is not None

EXTENSIONS = [
    # Boundary selection: integer DP, OpenMP across documents of a batch.
    _extension("chunkwise.chunking._cboundaries", "chunkwise/chunking/_cboundaries.pyx", openmp=OPENMP, float_math=False),
    # Shingle hashing + MinHash signatures: integer hashing, OpenMP across units.
    _extension("chunkwise.duplicates._cminhash", "chunkwise/duplicates/_cminhash.pyx", openmp=OPENMP, float_math=False),
    # Semantic gap scores: window cosines (float, re-associated so they vectorise), OpenMP across gaps.
    _extension("chunkwise.chunking._cscores", "chunkwise/chunking/_cscores.pyx", openmp=OPENMP, float_math=True),
    # Sentence segmentation: one pass over the str in place, GIL released.
    _extension("chunkwise.text._csegment", "chunkwise/text/_csegment.pyx", openmp=False, float_math=False),
    # Mojibake repair's per-segment decisions (ftfy's steps), tables read over the str in place.
    _extension("chunkwise.text._crepair", "chunkwise/text/_crepair.pyx", openmp=False, float_math=False),
]

setup(
    ext_modules=cythonize(EXTENSIONS, compiler_directives=COMPILER_DIRECTIVES),
)
