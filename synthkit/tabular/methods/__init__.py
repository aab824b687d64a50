"""Tabular methods. Each is a config dataclass plus a model (synthkit.core.methods' contract); register it here."""

from synthkit.core.methods import Registry
from synthkit.tabular.methods.base import MethodConfig, TabularMethod
from synthkit.tabular.methods.betatcvae import BetaTCVAE, BetaTCVAEConfig
from synthkit.tabular.methods.msvae import MSVAE, MSVAEConfig
from synthkit.tabular.methods.tvae import TVAE, TVAEConfig

#: Method name → model class (its `config_class` holds the settings).
METHODS: Registry[TabularMethod] = Registry("tabular method", {
    "msvae": MSVAE,
    "betatcvae": BetaTCVAE,
    "tvae": TVAE,
})

__all__ = [
    "METHODS",
    "MSVAE",
    "TVAE",
    "BetaTCVAE",
    "BetaTCVAEConfig",
    "MSVAEConfig",
    "MethodConfig",
    "TVAEConfig",
    "TabularMethod",
]
