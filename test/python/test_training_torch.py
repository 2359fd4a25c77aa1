"""nvfp4.torch.TrainingLinear: autograd through NVFP4 fprop, dgrad and wgrad
GEMMs. Each GEMM against a float64 product of its dequantized operands
(SPEC.md section 12), gradients against a straight-through fake-quant
reference (dequantize, then bf16 matmuls), bit reproducibility without
stochastic rounding, stochastic rounding reproducible from one seed,
torch.compile and an optimizer loop. Tests run on CPU tensors (the host
paths) and on CUDA; they skip without PyTorch, the CUDA cases without a
GPU."""

import pytest

import nvfp4
from nvfp4 import training as tr
from conftest import TOLERANCE, torch_cuda

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
import nvfp4.torch as nt  # noqa: E402

DEVICES = ["cpu", "cuda"]
# A TE-like recipe without stochastic rounding (bit-reproducible steps).
NO_SR = tr.TrainingRecipe("te_nearest", tr.OperandRecipe(rht=True),
                          tr.OperandRecipe(block="16x16"), tr.OperandRecipe(rht=True))


def _device(name):
    if name == "cuda":
        torch_cuda()
    return name


def _dtype(device):
    # bf16 activations on the GPU; float32 on the CPU keeps the host path
    # exact about what it was given.
    return torch.bfloat16 if device == "cuda" else torch.float32


def _layer(device, recipe="te_default", k=128, n=64, seeds=None, seed=0):
    torch.manual_seed(seed)
    lin = nt.TrainingLinear(k, n, recipe=recipe, seeds=seeds, name="fc").to(device)
    return lin


def _inputs(device, m=40, k=128, n=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, k, generator=g)
    x[:, 3] *= 30  # an outlier feature
    dy = torch.randn(m, n, generator=g) * 1e-2
    return (x.to(device, _dtype(device)).requires_grad_(),
            dy.to(device, _dtype(device)))


def _pad(t):
    m = t.shape[0]
    rows = (m + 15) // 16 * 16
    return torch.cat([t, t.new_zeros(rows - m, t.shape[1])]) if rows != m else t


def _dequantized_operands(lin, x, dy, step):
    """The dequantized A and B (float64, on the CPU) of each GEMM, from the
    quantizations the layer makes at `step`."""
    r = lin.recipe
    seed = lin.seeds.seed_for(lin.layer, step, "grad") if r.grad.stochastic else 0
    q = {"activation": tr.quantize(_pad(x.detach()), r.activation),
         "weight": lin.quantized_weight(),
         "grad": tr.quantize(_pad(dy), r.grad, seed=seed)}
    out = {}
    for gemm in tr.GEMMS:
        (ra, da, _), (rb, db, _) = r.gemm_operands(gemm)
        out[gemm] = tuple(nvfp4.dequantize(tr.operand(q[role], r.role(role), d))
                          .double().cpu() for role, d in ((ra, da), (rb, db)))
    return out


def _one_step(device, name):
    """A layer's first step on fixed inputs: (layer, x, dY, Y, the
    dequantized operands of its GEMMs)."""
    _device(device)
    lin = _layer(device, name)
    x, dy = _inputs(device)
    y = lin(x)
    y.backward(dy)
    return lin, x, dy, y, _dequantized_operands(lin, x, dy, step=0)


def _rel(got, want):
    got, want = got.double().cpu(), want.double().cpu()
    return ((got - want).norm() / want.norm()).item()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(tr.TRAINING_PRESETS))
def test_each_gemm_matches_float64_of_its_dequantized_operands(device, name):
    lin, x, dy, y, ops = _one_step(device, name)
    m = x.shape[0]
    a, b = ops["fprop"]
    bias = lin.bias.detach().double().cpu()
    out = "bf16" if y.dtype == torch.bfloat16 else "f32"
    assert y.shape == (m, 64) and y.dtype == x.dtype
    assert _rel(y, (a @ b.T)[:m] + bias) <= TOLERANCE[out]
    a, b = ops["dgrad"]
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    assert _rel(x.grad, (a @ b.T)[:m]) <= TOLERANCE[out]
    a, b = ops["wgrad"]  # float32 master weight: f32 output
    assert lin.weight.grad.dtype == torch.float32
    assert _rel(lin.weight.grad, a @ b.T) <= TOLERANCE["f32"]
    # The bias gradient is dY summed in float32.
    assert torch.equal(lin.bias.grad, dy.sum(0, dtype=torch.float32))
    assert lin.step == 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["te_default", "per_token_4over6"])
def test_gradients_match_straight_through_fake_quant(device, name):
    # The emulation people run on Hopper: dequantize each operand, multiply
    # in bf16, let gradients pass straight through the quantizers.
    lin, x, dy, y, ops = _one_step(device, name)
    m = x.shape[0]

    def bf16(a, b):
        return (a.to(device, torch.bfloat16) @ b.to(device, torch.bfloat16).T).double().cpu()

    ref = {g: bf16(*ops[g]) for g in tr.GEMMS}
    bias = lin.bias.detach().double().cpu()
    assert _rel(y, ref["fprop"][:m] + bias) < 1e-2
    assert _rel(x.grad, ref["dgrad"][:m]) < 1e-2
    assert _rel(lin.weight.grad, ref["wgrad"]) < 1e-2
    # And they are NVFP4 approximations of the exact gradients.
    xd, dyd, wd = x.detach().double().cpu(), dy.double().cpu(), lin.weight.detach().double().cpu()
    assert _rel(x.grad, dyd @ wd) < 0.3
    assert _rel(lin.weight.grad, dyd.T @ xd) < 0.3


def _train(device, recipe, seeds=None, steps=3, seed=0):
    lin = _layer(device, recipe, seeds=seeds, seed=seed)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    grads = []
    for i in range(steps):
        x, dy = _inputs(device, seed=10 + i)
        opt.zero_grad()
        lin(x).backward(dy)
        grads.append((x.grad.clone(), lin.weight.grad.clone()))
        opt.step()
    return lin, grads


@pytest.mark.parametrize("device", DEVICES)
def test_steps_without_stochastic_rounding_are_bit_reproducible(device):
    _device(device)
    a, ga = _train(device, NO_SR)
    b, gb = _train(device, NO_SR)
    for (dxa, dwa), (dxb, dwb) in zip(ga, gb):
        assert torch.equal(dxa, dxb) and torch.equal(dwa, dwb)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_rounding_is_reproducible_from_one_seed(device):
    _device(device)
    seeds = tr.SeedPolicy(seed=7, period=None)
    a, ga = _train(device, "te_default", seeds, steps=2)
    b, gb = _train(device, "te_default", seeds, steps=2)
    for (dxa, dwa), (dxb, dwb) in zip(ga, gb):
        assert torch.equal(dxa, dxb) and torch.equal(dwa, dwb)
    _, gc = _train(device, "te_default", tr.SeedPolicy(seed=8, period=None), steps=2)
    assert not torch.equal(ga[0][1], gc[0][1])  # another seed rounds otherwise
    # A fresh seed each call: the same input and weight give other gradients.
    lin = _layer(device, "te_default", seeds=seeds)
    x, dy = _inputs(device)
    first = []
    for _ in range(2):
        lin.zero_grad()
        lin(x).backward(dy)
        first.append(lin.weight.grad.clone())
    assert not torch.equal(first[0], first[1])
    assert lin.step == 2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["foreach", "fused"])
def test_weight_is_quantized_once_per_update(device, kind):
    # A fused optimizer updates the weight without bumping its version
    # counter: the cache also follows optimizer steps.
    _device(device)
    lin = _layer(device)
    opt = torch.optim.AdamW(lin.parameters(), lr=1e-2, **{kind: True})
    x, dy = _inputs(device)
    q0 = lin.quantized_weight()
    lin(x).backward(dy)
    assert lin.quantized_weight() is q0  # micro-batches share it
    opt.step()  # an in-place update bumps the version counter
    q1 = lin.quantized_weight()
    assert q1 is not q0 and not torch.equal(q1.data, q0.data)
    with torch.no_grad():
        lin.weight.mul_(2)
    assert lin.quantized_weight() is not q1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["te_default", "per_token_4over6"])
@pytest.mark.parametrize("backend", [None, "aot_eager", "inductor"])
def test_forward_without_gradient(device, name, backend):
    # Evaluation quantizes X rowwise only: the same output as the training
    # forward, and the step (the seed sequence) stays.
    _device(device)
    lin = _layer(device, name)
    x, _ = _inputs(device)
    want = lin(x)
    assert lin.step == 1
    torch._dynamo.reset()  # earlier tests' compiled layers count against the limit
    run = torch.compile(lin, fullgraph=True, backend=backend) if backend else lin
    with torch.no_grad():
        got = run(x)
    assert torch.equal(got, want) and lin.step == 1
    lin.requires_grad_(False)  # nothing to differentiate
    assert torch.equal(run(x.detach()), want) and lin.step == 1


@pytest.mark.parametrize("device", DEVICES)
def test_ragged_and_3d_inputs(device):
    _device(device)
    lin = _layer(device)
    x = torch.randn(3, 7, 128, device=device, dtype=_dtype(device), requires_grad=True)
    y = lin(x)
    assert y.shape == (3, 7, 64)
    y.sum().backward()
    assert x.grad.shape == x.shape and torch.isfinite(x.grad.float()).all()
    with pytest.raises(nvfp4.NVFP4Error, match="multiple of 16"):
        nt.TrainingLinear(100, 64)


@pytest.mark.parametrize("device, backend", [("cpu", "aot_eager"), ("cpu", "inductor"),
                                             ("cuda", "inductor")])
def test_compile_matches_eager_without_recompiles(device, backend):
    _device(device)
    eager = _layer(device, "te_default", seeds=tr.SeedPolicy(seed=3, period=None))
    traced = _layer(device, "te_default", seeds=tr.SeedPolicy(seed=3, period=None))
    torch._dynamo.reset()  # earlier tests' compiled layers count against the limit
    compiled = torch.compile(traced, fullgraph=True, backend=backend)
    torch._dynamo.utils.counters.clear()
    for i in range(3):  # three steps, three seeds, one graph
        x, dy = _inputs(device, seed=20 + i)
        xc = x.detach().clone().requires_grad_()
        eager.zero_grad()
        traced.zero_grad()
        ye, yc = eager(x), compiled(xc)
        ye.backward(dy)
        yc.backward(dy)
        assert torch.equal(ye, yc)
        assert torch.equal(x.grad, xc.grad)
        assert torch.equal(eager.weight.grad, traced.weight.grad)
        assert torch.equal(eager.bias.grad, traced.bias.grad)
    assert traced.step == 3
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


@pytest.mark.parametrize("device", DEVICES)
def test_training_loop_learns(device):
    # A two-layer MLP regressing a fixed random teacher: NVFP4 training
    # follows the high-precision run.
    _device(device)
    torch.manual_seed(0)
    teacher = torch.nn.Linear(64, 32).to(device)
    data = torch.randn(512, 64, device=device)
    target = teacher(data).detach()

    def run(recipe):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(),
                                    torch.nn.Linear(128, 32)).to(device)
        if recipe is not None:
            nt.prepare_training(model, recipe)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        losses = []
        for i in range(60):
            batch = slice((i % 8) * 64, (i % 8 + 1) * 64)
            loss = torch.nn.functional.mse_loss(model(data[batch]), target[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    ref, got = run(None), run("te_default")
    assert got[-1] < 0.2 * got[0]
    assert got[-1] < 2 * ref[-1] + 0.02, (got[-1], ref[-1])


def test_prepare_training_and_state_dict():
    model = torch.nn.Sequential()
    model.add_module("embed", torch.nn.Linear(32, 64))
    model.add_module("block", torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU()))
    model.add_module("odd", torch.nn.Linear(64, 10))
    model.add_module("head", torch.nn.Linear(64, 16))
    weight = model.block[0].weight
    policy = tr.RecipePolicy("te_default", {"head": None, "embed": "per_token_4over6"})
    nt.prepare_training(model, policy, seeds=tr.SeedPolicy(seed=9))
    assert isinstance(model.embed, nt.TrainingLinear)
    assert model.embed.recipe.name == "per_token_4over6"
    assert isinstance(model.block[0], nt.TrainingLinear)
    assert model.block[0].layer == "block.0" and model.block[0].weight is weight
    assert type(model.head) is torch.nn.Linear  # overridden: high precision
    assert type(model.odd) is torch.nn.Linear   # N = 10: not a multiple of 16
    model.block[0].step = 41
    state = model.state_dict()
    fresh = nt.prepare_training(torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.Sequential(torch.nn.Linear(64, 64))), "te_default")
    fresh[1][0].load_state_dict(model.block[0].state_dict())
    assert fresh[1][0].step == 41 and "block.0._extra_state" in state


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    # Schemas, fake kernels against the real outputs, no aliasing, the
    # autograd registration and AOT dispatch of the training ops.
    _device(device)
    lin = _layer(device)
    x, dy = _inputs(device, m=32)
    x = x.detach()
    w = lin.quantized_weight()
    step = torch.tensor(5, dtype=torch.int64)
    wq = (w.data, w.scale, w.amax, w.data_t, w.scale_t, w.amax_t)
    fwd = (x, lin.weight, lin.bias, step, *wq, lin.layer, lin._config)
    torch.library.opcheck(torch.ops.nvfp4.linear_forward.default, fwd)
    _, xd, xs, xa = torch.ops.nvfp4.linear_forward(*fwd)
    bwd = (dy, step, xd, xs, xa, *wq[3:], lin.layer, lin._config, True,
           str(x.dtype)[6:], "float32", "float32")
    torch.library.opcheck(torch.ops.nvfp4.linear_backward.default, bwd)
    torch.library.opcheck(torch.ops.nvfp4.next_step.default,
                          (torch.zeros((), dtype=torch.int64),))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("recipe", [tr.OperandRecipe(rht=True), tr.OperandRecipe(block="16x16"),
                                    tr.OperandRecipe(outer="row", rht=True)],
                         ids=["per_tensor_rht", "per_tensor_2d", "per_token_rht"])
def test_pytorch_emulation_gives_the_kernels_values(device, recipe):
    # The baseline of python/bench/train_step.py quantizes as the kernels
    # do: with round-to-nearest, the same dequantized values in both
    # directions (outliers, a zero block and an underflowing block included).
    from nvfp4._emulate import fake_quantize
    _device(device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 96, generator=g)
    x[:, 5] *= 50
    x[3, :16] = 0
    x[7, :16] *= 1e-7
    x = x.to(device, _dtype(device))
    q = tr.quantize(x, recipe)
    for direction in ("rowwise", "columnwise"):
        ours = nvfp4.dequantize(tr.operand(q, recipe, direction))
        assert torch.equal(fake_quantize(x, recipe, direction), ours), direction


# The groups of unittests/Reference/RHTVectors.h (binary32 bits): exponent
# spread and cancellation, all -0.0, subnormals, finite overflow, -Inf; an
# index-order sum of the transform gives other values on each.
_RHT_X = [
    0xBBA00000, 0x41400000, 0xBBA00000, 0x3DC00000,
    0x4C400000, 0xC0A00000, 0x40200000, 0xC0400000,
    0x3DA00000, 0xC0800000, 0x40A00000, 0x3D800000,
    0xBE400000, 0x4C400000, 0xC0000000, 0x3DA00000,
    0x80000000, 0x80000000, 0x80000000, 0x80000000,
    0x80000000, 0x80000000, 0x80000000, 0x80000000,
    0x80000000, 0x80000000, 0x80000000, 0x80000000,
    0x80000000, 0x80000000, 0x80000000, 0x80000000,
    0x00640000, 0x00FF0000, 0x88800000, 0x88800000,
    0x01000000, 0x80050000, 0x80030000, 0x04800000,
    0x00800000, 0x88800000, 0x00050000, 0x08800000,
    0x84800000, 0x01000000, 0x00640000, 0x01000000,
    0xFF7F0000, 0xFEFF0000, 0xF1800000, 0x71800000,
    0xFEFF0000, 0xF1800000, 0xFF7F0000, 0xFF7F0000,
    0xFF3F0000, 0xFF3F0000, 0xFF7F0000, 0x7F7F0000,
    0xF1800000, 0xBF800000, 0xFEFF0000, 0xFEFF0000,
    0xFF800000, 0x7F7F0000, 0xBF800000, 0x7F7F0000,
    0xFF7F0000, 0x7F7F0000, 0xBF800000, 0xBF800000,
    0xFF7F0000, 0xFF7F0000, 0xFF7F0000, 0xFF7F0000,
    0xFF7F0000, 0x3F800000, 0xFF7F0000, 0x7F7F0000,
]
# Their butterfly transforms (0x7FC00000: any NaN).
_RHT_Y = [
    0x4BC00000, 0xC0C00000, 0x4BC00000, 0xC0800000,
    0xCBC00000, 0xC0800000, 0xCBC00000, 0xC0000000,
    0x40800000, 0x4BC00000, 0x40000000, 0x4BC00000,
    0x40000000, 0xCBC00000, 0x00000000, 0xCBC00000,
    0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0x80000000, 0x00000000,
    0x08000000, 0x88800000, 0x04020000, 0x08000000,
    0x08000000, 0x88800000, 0x84010000, 0x08000000,
    0x88000000, 0x00520000, 0x001F0000, 0x07FF0000,
    0x87FF0000, 0x805E0000, 0x00D00000, 0x08000000,
    0x7FC00000, 0xFE7F0000, 0x7FC00000, 0xFE7F0000,
    0x7FC00000, 0xF0800000, 0x7FC00000, 0xF0800000,
    0x7FC00000, 0xFE7F0000, 0x7FC00000, 0xFE7F0000,
    0xFF800000, 0x70800000, 0x7FC00000, 0x70800000,
    0x7FC00000, 0x7FC00000, 0x7FC00000, 0xFF800000,
    0x7FC00000, 0x7FC00000, 0x7FC00000, 0x7FC00000,
    0xFF800000, 0xFF800000, 0xFF800000, 0x7FC00000,
    0x7FC00000, 0x7FC00000, 0x7FC00000, 0x7FC00000,
]


def _from_bits(bits):
    return torch.tensor([b - (1 << 32) if b >= 1 << 31 else b for b in bits],
                        dtype=torch.int32).view(torch.float32)


def test_pytorch_emulation_rht_is_the_butterfly():
    # The emulation's RHT sums in the kernels' butterfly order
    # (docs/Rationale.md), so it gives their bits on the groups where the
    # order shows, the -0.0 of y_14 for a group of -0.0 included.
    from nvfp4._emulate import rht
    y = rht(_from_bits(_RHT_X).reshape(5, 16)).reshape(-1)
    want = _from_bits(_RHT_Y)
    nan = torch.isnan(want)
    assert torch.equal(torch.isnan(y), nan)
    assert torch.equal(y[~nan].view(torch.int32), want[~nan].view(torch.int32))


def test_pytorch_emulation_gives_the_kernels_values_where_rht_order_shows():
    # The finite groups (spread and cancellation, -0.0, subnormals) as the
    # columns of X: the emulation's columnwise values are the CPU kernels'.
    from nvfp4._emulate import fake_quantize
    groups = _from_bits(_RHT_X).reshape(5, 16)[:3].t()
    x = torch.cat([groups, -groups.flip(0)], dim=1)
    x = torch.cat([x, x, x[:, :4]], dim=1).repeat(2, 1)  # 32 x 16
    recipe = tr.OperandRecipe(rht=True)
    q = tr.quantize(x, recipe)
    ours = nvfp4.dequantize(tr.operand(q, recipe, "columnwise"))
    assert torch.equal(fake_quantize(x, recipe, "columnwise"), ours)


def test_pytorch_emulation_rounds_stochastically_without_bias():
    from nvfp4._emulate import fake_quantize
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 64, generator=g)
    sr = tr.OperandRecipe(rounding="stochastic")
    mean = torch.stack([fake_quantize(x, sr, generator=g) for _ in range(400)]).mean(0)
    nearest = fake_quantize(x, tr.OperandRecipe())
    assert _rel(mean, x) < 0.3 * _rel(nearest, x)


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_master_weights(device):
    # bf16 parameters: the weight is quantized from bf16, wgrad and the bias
    # gradient come back in bf16 for the optimizer.
    _device(device)
    torch.manual_seed(0)
    lin = nt.TrainingLinear(128, 64, recipe="te_default", name="fc", device=device,
                            dtype=torch.bfloat16)
    x, dy = _inputs(device)
    x = x.detach().to(torch.bfloat16).requires_grad_()
    dy = dy.to(torch.bfloat16)
    lin(x).backward(dy)
    assert lin.weight.grad.dtype == torch.bfloat16 and lin.bias.grad.dtype == torch.bfloat16
    a, b = _dequantized_operands(lin, x, dy, step=0)["wgrad"]
    assert _rel(lin.weight.grad, a @ b.T) <= TOLERANCE["bf16"]
    assert torch.equal(lin.bias.grad, dy.sum(0, dtype=torch.float32).to(torch.bfloat16))
