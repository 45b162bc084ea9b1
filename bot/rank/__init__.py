"""Ranking papers by a group's taste: a per-library model, its scores and why lines.

Pure and store-independent: callers pass `bot.models.Paper` objects in and
get scores, `Ranked` results and model bytes out. `train` builds a model,
`RankModel.rank` orders candidates, `Fingerprint` tells when to retrain.
"""

from bot.rank.fingerprint import Fingerprint, store_bucket
from bot.rank.model import ModelFormatError, Ranked, RankModel
from bot.rank.train import DEFAULT_SETTINGS, RankSettings, train
from bot.rank.why import Why

__all__ = [
    "DEFAULT_SETTINGS",
    "Fingerprint",
    "ModelFormatError",
    "RankModel",
    "RankSettings",
    "Ranked",
    "Why",
    "store_bucket",
    "train",
]
