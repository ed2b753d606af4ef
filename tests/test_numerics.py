"""float32_matmul_precision: TF32 on CUDA by default, one config key, bad values named."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from helpers.config import compose_config
from lstm_apps.errors import UserError
from lstm_apps.pipeline.numerics import apply_matmul_precision


@pytest.mark.parametrize("config_name", ["train", "eval", "predict"])
def test_every_entry_point_defaults_to_tf32(config_name: str) -> None:
    cfg = compose_config(config_name, [])
    assert cfg.float32_matmul_precision == "high"


def test_the_key_sets_torchs_matmul_precision() -> None:
    before = torch.get_float32_matmul_precision()
    try:
        apply_matmul_precision(OmegaConf.create({"float32_matmul_precision": "highest"}))
        assert torch.get_float32_matmul_precision() == "highest"
        apply_matmul_precision(OmegaConf.create({"float32_matmul_precision": "high"}))
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision(before)


def test_a_bad_value_names_the_key() -> None:
    with pytest.raises(UserError, match="float32_matmul_precision: must be one of highest, high, medium"):
        apply_matmul_precision(OmegaConf.create({"float32_matmul_precision": "tf32"}))
