"""The optional scikit-learn dependency, imported only when a function needs it.

``import hypersearch.automl`` stays cheap and works without scikit-learn; the
first call that builds or fits a model imports it, and a missing installation
turns into one clear message instead of a bare ``ModuleNotFoundError`` from deep
inside the package.
"""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = "hypersearch.automl needs scikit-learn: pip install 'hypersearch[sklearn]'"


def require_sklearn() -> ModuleType:
    """Import and return :mod:`sklearn`, or raise an ImportError saying how to install it."""
    try:
        import sklearn
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return sklearn
