"""Search spaces: distributions, declarative spaces, constraints and the unit-cube encoding."""

from hypersearch.space.declarative import (
    Domain,
    SearchSpace,
    choice,
    grid,
    grid_search,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    quniform,
    randint,
    sample_from,
    uniform,
)
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder

__all__ = [
    "BaseDistribution",
    "CategoricalDistribution",
    "Domain",
    "FloatDistribution",
    "IntDistribution",
    "SearchSpace",
    "UnitCubeEncoder",
    "choice",
    "grid",
    "grid_search",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "quniform",
    "randint",
    "sample_from",
    "uniform",
]
