"""The network's state dict matches pytorch-pose name for name and shape for shape."""

import pytest
import torch

from model.nn.hourglass import HourglassConfig, build_hourglass


def _reference_keys(path):
    rows = []
    for line in path.read_text().splitlines():
        name, shape = line.split(" ", 1)
        rows.append((name, tuple(int(v) for v in shape.strip("[]").split(",") if v.strip())))
    return rows


@pytest.mark.parametrize("stacks, params", [(2, 6_730_912), (8, 25_594_624)])
def test_state_dict_matches_pytorch_pose(shared, stacks, params):
    ref = _reference_keys(shared / "reference" / f"pytorch_pose_hg_s{stacks}_b1_k16.keys.txt")
    model = build_hourglass(HourglassConfig(num_keypoints=16, stacks=stacks, blocks=1))
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert ours == ref
    assert sum(p.numel() for p in model.parameters()) == params


def test_outputs_one_heatmap_per_stack_at_quarter_resolution():
    cfg = HourglassConfig(num_keypoints=5, stacks=3, blocks=2, features=16, input_size=(64, 128))
    model = build_hourglass(cfg).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 128, 64))
    assert [tuple(o.shape) for o in out] == [(2, 5, 32, 16)] * 3
    assert cfg.heatmap_size == (16, 32)


def test_input_size_must_fit_the_hourglass_depth():
    with pytest.raises(ValueError, match="multiples of 64"):
        HourglassConfig(input_size=(96, 96))


def test_stacks_refine_each_other():
    """Stack 2 depends on stack 1's score through score_: zeroing it changes the output."""
    torch.manual_seed(0)
    model = build_hourglass(HourglassConfig(num_keypoints=2, stacks=2, features=8)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)[1].clone()
        model.score_[0].weight.zero_()
        model.score_[0].bias.zero_()
        after = model(x)[1]
    assert not torch.allclose(before, after)
