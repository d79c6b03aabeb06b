"""train_gbdt: the CatBoost gradient-boosted trees on FMA's features (see fmagenre.classic)."""

from fmagenre.classic_stage import train_stage
from fmagenre.stage import run_stage

if __name__ == "__main__":
    run_stage("train_gbdt", lambda params: train_stage("gbdt", params))
