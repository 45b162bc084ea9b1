"""Ranking papers by a group's taste: a per-library model, its scores and why lines.

Pure and store-independent: callers pass `bot.models.Paper` objects in and
get scores, `Ranked` results and model bytes out. `train` builds a model,
`RankModel.rank` orders candidates, `Fingerprint` tells when to retrain.
Importing it costs scikit-learn's ~1.5 s and ~100 MB, so `bot.ranking`
imports it only once something is ranked.
"""

from bot.rank.background import Background
from bot.rank.fingerprint import Fingerprint, store_bucket
from bot.rank.model import ModelFormatError, Ranked, RankModel
from bot.rank.train import DEFAULT_SETTINGS, RankSettings, train, train_similar
from bot.rank.why import Why

__all__ = [
    "DEFAULT_SETTINGS",
    "Background",
    "Fingerprint",
    "ModelFormatError",
    "RankModel",
    "RankSettings",
    "Ranked",
    "Why",
    "store_bucket",
    "train",
    "train_similar",
]
