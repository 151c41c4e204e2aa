"""levers: adaptive website experiments."""

import os

# the bandit maths works on small matrices: blas threads only add contention between requests and workers
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
