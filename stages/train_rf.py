"""train_rf: the Random Forest on FMA's features (see fmagenre.classic)."""

from fmagenre.classic_stage import train_stage
from fmagenre.stage import run_stage

if __name__ == "__main__":
    run_stage("train_rf", lambda params: train_stage("rf", params))
