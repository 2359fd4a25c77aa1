"""nvfp4.training on the CPU (NumPy, no PyTorch): the training recipes and
their presets, per-layer overrides, the stochastic-rounding seed policy,
and the three GEMMs of a Linear layer (fprop, dgrad, wgrad) built from the
rowwise and columnwise outputs of one quantization per operand, each
against a float64 product of its dequantized operands (SPEC.md section 12).
"""

import zlib

import numpy as np
import pytest

import nvfp4
from nvfp4 import training as tr
from conftest import TOLERANCE, rel_error

PRESETS = tuple(tr.TRAINING_PRESETS)


def test_te_default_is_transformer_engines_recipe():
    te = tr.TRAINING_PRESETS["te_default"]
    # Activations: per-tensor 1x16, RHT on the columnwise (wgrad) output.
    assert te.activation.quantize_text() == "#nvfp4.recipe<per_tensor_rht, sf_layout = 128x4>"
    # Weights: per-tensor 16x16 tiles, both directions from one quantization.
    assert te.weight.quantize_text() == ("#nvfp4.recipe<per_tensor_2d, directions = "
                                         "[rowwise, columnwise], sf_layout = 128x4>")
    # Gradients: RHT and stochastic rounding.
    assert te.grad.quantize_text(seed=7) == ("#nvfp4.recipe<per_tensor_rht, rounding = "
                                             "stochastic<seed = 7>, sf_layout = 128x4>")
    # A nearest-rounding role ignores the seed: one kernel for every step.
    assert te.activation.quantize_text(seed=7) == te.activation.quantize_text(seed=0)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_are_consistent(name):
    r = tr.TRAINING_PRESETS[name].check()
    assert r.name == name
    assert r.activation.rht == r.grad.rht and not r.weight.rht
    assert r.weight.block == "16x16"
    for role in tr.ROLES:
        text = r.role(role).quantize_text(seed=3)
        assert "sf_layout = 128x4" in text
    # The GEMM operand recipes keep only what the GEMM reads.
    for gemm in tr.GEMMS:
        for _, _, text in r.gemm_operands(gemm):
            assert "rht" not in text and "stochastic" not in text
            assert "16x16" not in text and "four_over_six" not in text


def test_seed_variants():
    p = tr.TRAINING_PRESETS
    assert p["per_token"].activation.gemm_text() == "#nvfp4.recipe<per_token, sf_layout = 128x4>"
    assert p["local_1x64"].activation.gemm_text() == "#nvfp4.recipe<local_1x64, sf_layout = 128x4>"
    # 4over6 operands enter the GEMM with E = 256 (1/(36 E_A E_B)).
    assert p["per_token_4over6"].activation.gemm_text() == \
        "#nvfp4.recipe<per_token, e4m3_max = 256, sf_layout = 128x4>"
    assert p["four_over_six"].weight.gemm_text() == \
        "#nvfp4.recipe<per_tensor, e4m3_max = 256, sf_layout = 128x4>"
    # 4over6 does not combine with stochastic rounding: its gradients round
    # to nearest.
    assert not p["per_token_4over6"].grad.stochastic
    assert "four_over_six<mae>" in p["per_token_4over6"].grad.quantize_text()


def test_gemm_operands_name_the_directions():
    r = tr.TRAINING_PRESETS["te_default"]
    assert [(role, d) for role, d, _ in r.gemm_operands("fprop")] == \
        [("activation", "rowwise"), ("weight", "rowwise")]
    assert [(role, d) for role, d, _ in r.gemm_operands("dgrad")] == \
        [("grad", "rowwise"), ("weight", "columnwise")]
    assert [(role, d) for role, d, _ in r.gemm_operands("wgrad")] == \
        [("grad", "columnwise"), ("activation", "columnwise")]
    with pytest.raises(nvfp4.NVFP4Error, match="unknown GEMM 'xgrad'"):
        r.gemm_operands("xgrad")


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation=tr.OperandRecipe(), grad=tr.OperandRecipe(rht=True)),
     "both need RHT or neither"),
    (dict(weight=tr.OperandRecipe(block="16x16", rht=True)),
     "weight recipe cannot use RHT"),
    (dict(activation=tr.OperandRecipe(rht=True, rounding="stochastic")),
     "gradient only, got it for the activation"),
    # A quantizer's own rule, named with the role.
    (dict(grad=tr.OperandRecipe(rht=True, rounding="stochastic", select="mae")),
     "grad: .*four_over_six.*stochastic"),
    (dict(weight=tr.OperandRecipe(outer="row", block="16x16")), "weight: .*16x16"),
])
def test_check_rejects_recipes_whose_gemms_would_be_wrong(kwargs, match):
    base = tr.TRAINING_PRESETS["te_default"]
    keys = dict(name="bad", activation=base.activation, weight=base.weight,
                grad=base.grad)
    keys.update(kwargs)
    with pytest.raises(nvfp4.NVFP4Error, match=match):
        tr.TrainingRecipe(**keys).check()


def test_recipe_policy_overrides():
    policy = tr.RecipePolicy("te_default", {"head": None, "blocks.0.*": "per_token_4over6",
                                            "blocks.*": "per_token"})
    assert policy.recipe_for("blocks.3.fc1").name == "per_token"
    assert policy.recipe_for("blocks.0.fc2").name == "per_token_4over6"  # first match
    assert policy.recipe_for("head") is None  # kept in high precision
    assert policy.recipe_for("embed").name == "te_default"
    custom = tr.TrainingRecipe("mine", tr.OperandRecipe(), tr.OperandRecipe(block="16x16"),
                               tr.OperandRecipe())
    assert tr.RecipePolicy(custom).recipe_for("x") is custom
    with pytest.raises(nvfp4.NVFP4Error, match="unknown training recipe 'fp8'"):
        tr.RecipePolicy("fp8")
    with pytest.raises(nvfp4.NVFP4Error, match="both need RHT"):
        tr.RecipePolicy("te_default", {"x": tr.TrainingRecipe(
            "odd", tr.OperandRecipe(rht=True), tr.OperandRecipe(), tr.OperandRecipe())})


def test_seed_policy_is_reproducible_and_fresh():
    fresh = tr.SeedPolicy(seed=1234, period=None)
    seeds = {(layer, step): fresh.seed_for(layer, step)
             for layer in ("fc1", "fc2", "head") for step in range(200)}
    assert len(set(seeds.values())) == len(seeds)  # a new seed every step and layer
    again = tr.SeedPolicy(seed=1234, period=None)
    assert all(again.seed_for(l, s) == v for (l, s), v in seeds.items())
    assert tr.SeedPolicy(seed=1235, period=None).seed_for("fc1", 0) != seeds["fc1", 0]
    assert all(0 <= v < 2**64 for v in seeds.values())
    # The layer key is a CRC (not Python's salted hash): the same in every process.
    assert tr.SeedPolicy.layer_key("fc1") == zlib.crc32(b"fc1")


def test_seed_policy_period_bounds_the_kernels():
    pool = tr.SeedPolicy(seed=5, period=4)
    layers = [f"layers.{i}" for i in range(10)]
    by_step = [[pool.seed_for(l, s) for l in layers] for s in range(40)]
    assert len({v for row in by_step for v in row}) == 4  # 4 kernels in all
    assert by_step[0] == by_step[4] and by_step[0] != by_step[1]
    # Layers start at different pool entries: a step does not give every
    # layer the same stream.
    assert len(set(by_step[0])) > 1
    assert pool.seed_for("a", 0, "grad") != pool.seed_for("a", 0, "activation")


@pytest.mark.parametrize("kwargs, match", [
    (dict(seed=-1), "seed to be an int"), (dict(seed=2**64), "seed to be an int"),
    (dict(period=0), "period to be None or a positive int"),
])
def test_seed_policy_rejects_bad_arguments(kwargs, match):
    with pytest.raises(nvfp4.NVFP4Error, match=match):
        tr.SeedPolicy(**kwargs)


#===------------------------------------------------------------------------===#
# The three GEMMs on the host
#===------------------------------------------------------------------------===#

def _layer(m=64, n=48, k=96, seed=0):
    """X (M x K), W (N x K) and dY (M x N) of a Linear layer; K = 96 leaves
    a short last 1x64 window."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k)).astype(np.float32)
    x[:, 5] *= 20  # an outlier feature
    w = (rng.standard_normal((n, k)) * 0.05).astype(np.float32)
    dy = (rng.standard_normal((m, n)) * 1e-3).astype(np.float32)
    return x, w, dy


def _gemms(recipe, x, w, dy, seed=11):
    q = {"activation": tr.quantize(x, recipe.activation),
         "weight": tr.quantize(w, recipe.weight),
         "grad": tr.quantize(dy, recipe.grad, seed=seed)}
    out = {}
    for gemm in tr.GEMMS:
        (ra, da, _), (rb, db, _) = recipe.gemm_operands(gemm)
        out[gemm] = (tr.operand(q[ra], recipe.role(ra), da),
                     tr.operand(q[rb], recipe.role(rb), db))
    return out


def _reference(a, b):
    return (nvfp4.dequantize(a).astype(np.float64)
            @ nvfp4.dequantize(b).astype(np.float64).T)


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("out", ["f32", "bf16"])
def test_three_gemms_match_float64_of_dequantized_operands(name, out):
    recipe = tr.TRAINING_PRESETS[name]
    x, w, dy = _layer()
    shapes = {"fprop": (64, 48), "dgrad": (64, 96), "wgrad": (48, 96)}
    for gemm, (a, b) in _gemms(recipe, x, w, dy).items():
        d = nvfp4.matmul(a, b, out_dtype=out)
        assert d.shape == shapes[gemm], gemm
        ref = _reference(a, b)
        assert np.linalg.norm(ref) > 0
        assert rel_error(d, ref) <= TOLERANCE[out], (name, gemm, rel_error(d, ref))


@pytest.mark.parametrize("name", PRESETS)
def test_gemms_approximate_the_exact_products(name):
    # The dequantized operands stand for X, W and dY (RHT cancels in wgrad):
    # each GEMM is within NVFP4's error of the float64 product of the inputs.
    recipe = tr.TRAINING_PRESETS[name]
    x, w, dy = _layer(m=128, n=64, k=128)
    exact = {"fprop": x.astype(np.float64) @ w.T, "dgrad": dy.astype(np.float64) @ w,
             "wgrad": dy.T.astype(np.float64) @ x}
    for gemm, (a, b) in _gemms(recipe, x, w, dy).items():
        err = rel_error(nvfp4.matmul(a, b, out_dtype="f32"), exact[gemm])
        assert err < 0.25, (name, gemm, err)


def test_wgrad_needs_the_same_transform_on_both_operands():
    # H S is orthogonal, so RHT cancels in the wgrad contraction only when
    # both operands carry it: with RHT on dY alone the product is noise.
    te = tr.TRAINING_PRESETS["te_default"]
    x, w, dy = _layer(m=128, n=64, k=128)
    exact = dy.T.astype(np.float64) @ x
    g = tr.quantize(dy, te.grad, seed=3)
    a = tr.operand(g, te.grad, "columnwise")
    good = tr.operand(tr.quantize(x, te.activation), te.activation, "columnwise")
    plain = tr.OperandRecipe()
    bad = tr.operand(tr.quantize(x, plain), plain, "columnwise")
    assert rel_error(nvfp4.matmul(a, good, out_dtype="f32"), exact) < 0.25
    assert rel_error(nvfp4.matmul(a, bad, out_dtype="f32"), exact) > 0.8


@pytest.mark.parametrize("name", ["te_default", "four_over_six"])
def test_2d_weight_is_one_quantization_in_both_directions(name):
    # fprop and dgrad read the same quantized weight: the columnwise output
    # of a 16x16 recipe dequantizes to the transpose of the rowwise one.
    wr = tr.TRAINING_PRESETS[name].weight
    _, w, _ = _layer()
    q = tr.quantize(w, wr)
    row = nvfp4.dequantize(tr.operand(q, wr, "rowwise"))
    col = nvfp4.dequantize(tr.operand(q, wr, "columnwise"))
    assert row.shape == (48, 96) and col.shape == (96, 48)
    assert np.array_equal(row.T, col)


def test_stochastic_gradient_follows_its_seed():
    te = tr.TRAINING_PRESETS["te_default"]
    _, _, dy = _layer()
    a, b, c = (tr.quantize(dy, te.grad, seed=s) for s in (1, 1, 2))
    for name in ("data", "data_t"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    # Rounding differs, scales do not (SPEC.md section 8).
    assert np.array_equal(a.scale, c.scale) and np.array_equal(a.amax_t, c.amax_t)


def test_operand_errors():
    te = tr.TRAINING_PRESETS["te_default"]
    q = nvfp4.quantize(np.ones((16, 32), np.float32), recipe="per_tensor, sf_layout = 128x4")
    with pytest.raises(nvfp4.NVFP4Error, match="no columnwise output"):
        tr.operand(q, te.activation, "columnwise")
    with pytest.raises(nvfp4.NVFP4Error, match="unknown direction"):
        tr.operand(q, te.activation, "diagonal")
    # Columnwise blocks run along M: M must be a multiple of 16.
    with pytest.raises(nvfp4.NVFP4Error, match="multiple of 16"):
        tr.quantize(np.ones((20, 32), np.float32), te.activation)
