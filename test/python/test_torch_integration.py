"""nvfp4.torch: the torch.library ops (schemas, fake kernels), torch.compile
and torch.export through them, and the NVFP4 Linear. Tests marked for CUDA
skip without a GPU; the others run on CPU tensors (the host paths) and skip
only without PyTorch."""

import pytest

import nvfp4
from conftest import TOLERANCE, host_result, reference, rel_error, torch_cuda

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
import nvfp4.torch as nt  # noqa: E402

A_TOKEN = "per_token, sf_layout = 128x4"
W_2D = "per_tensor_2d, sf_layout = 128x4"
OPS = ("quantize", "grouped_quantize", "dequantize", "matmul", "grouped_matmul",
       "per_token_scale")


def _device(name):
    if name == "cuda":
        torch_cuda()
    return name


DEVICES = ["cpu", "cuda"]


def test_ops_are_registered_with_schemas():
    for name in OPS:
        assert hasattr(torch.ops.nvfp4, name), name
    schema = str(torch.ops.nvfp4.quantize.default._schema)
    assert schema == 'nvfp4::quantize(Tensor x, str recipe, str input_dtype="") -> Tensor[]'
    schema = str(torch.ops.nvfp4.matmul.default._schema)
    assert "Tensor? bias=None, float alpha=1., str out_dtype=\"bf16\") -> Tensor" in schema
    assert nvfp4._ops is nt and nvfp4._is_compiling is torch.compiler.is_compiling


@pytest.mark.parametrize("recipe", ["per_token", A_TOKEN, "local_1x64",
                                    "outer = row, directions = [rowwise, columnwise]"])
def test_fake_kernels_give_the_recipe_shapes(recipe):
    from torch._subclasses.fake_tensor import FakeTensorMode
    info = nvfp4._recipes.info_for_text(recipe)
    with FakeTensorMode():
        x = torch.empty(48, 1024, dtype=torch.bfloat16)
        outs = torch.ops.nvfp4.quantize(x, info.text)
        d = torch.ops.nvfp4.dequantize(outs[0], outs[1], outs[2], info.text)
    want = info.specs(48, 1024)
    assert [tuple(o.shape) for o in outs] == [e[2] for e in want.entries]
    assert [str(o.dtype) for o in outs] == ["torch." + e[3] for e in want.entries]
    assert tuple(d.shape) == (48, 1024) and d.dtype == torch.float32


def test_fake_kernels_check_operands():
    from torch._subclasses.fake_tensor import FakeTensorMode
    a, b = nvfp4._recipes.info_for_text(A_TOKEN), nvfp4._recipes.info_for_text("per_token")
    with FakeTensorMode():
        x = torch.empty(4, 64, dtype=torch.uint8)
        s = torch.empty(128, 4, dtype=torch.uint8)
        m = torch.empty(4)
        with pytest.raises(nvfp4.NVFP4Error, match="b: matmul operands need sf_layout = 128x4"):
            torch.ops.nvfp4.matmul(x, s, m, a.text, x, s, m, b.text)
        y = torch.empty(4, 32, dtype=torch.uint8)
        with pytest.raises(nvfp4.NVFP4Error, match="A and B must share K: 128 and 64"):
            torch.ops.nvfp4.matmul(x, s, m, a.text, y, s, m, a.text)
        with pytest.raises(nvfp4.NVFP4Error, match="unsupported dtype int32"):
            torch.ops.nvfp4.quantize(torch.empty(4, 64, dtype=torch.int32), a.text)


def test_eager_calls_skip_the_dispatcher():
    # Eager calls take the direct path: no nvfp4 op is dispatched.
    from torch.utils._python_dispatch import TorchDispatchMode

    class Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    x = torch.randn(8, 64)
    with Record() as r:
        q = nvfp4.quantize(x, recipe=A_TOKEN)
        nvfp4.matmul(q, q, out_dtype="f32")
    assert not [op for op in r.ops if op.startswith("nvfp4")], r.ops


def _weights(device, n=96, k=256, recipe=W_2D, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, k, generator=g).to(device)
    return nvfp4.quantize(w, recipe=recipe), torch.randn(n, generator=g).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_fullgraph_quantize_matmul(device, dynamic):
    _device(device)
    wq, bias = _weights(device)

    def f(x):
        q = nvfp4.quantize(x, recipe=A_TOKEN)
        d = nvfp4.matmul(q, wq, bias=bias, out_dtype="bf16")
        return d, q.per_token_scale, nvfp4.dequantize(q)

    backend = "aot_eager" if device == "cpu" else "inductor"
    cf = torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)
    for m in (5, 37):
        x = torch.randn(m, 256).to(device)
        got, want = cf(x), f(x)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            assert torch.equal(g, w)


@pytest.mark.parametrize("device", DEVICES)
def test_export_keeps_the_ops(device):
    _device(device)
    lin = torch.nn.Linear(256, 96).to(device)
    model = nt.Linear.from_linear(lin)
    x = torch.randn(3, 5, 256).to(device)
    ep = torch.export.export(model, (x,))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert "nvfp4.quantize.default" in targets and "nvfp4.matmul.default" in targets
    assert torch.equal(ep.module()(x), model(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_linear_matches_float64_reference(device, dtype):
    _device(device)
    dt = getattr(torch, dtype)
    lin = torch.nn.Linear(256, 96).to(device=device, dtype=dt)
    model = nt.Linear.from_linear(lin)
    assert model.bias.dtype == torch.float32 and model.weight_data.shape == (96, 128)
    x = torch.randn(2, 7, 256, device=device, dtype=dt)
    with torch.inference_mode():
        y = model(x)
    assert y.shape == (2, 7, 96) and y.dtype == dt
    q = nvfp4.quantize(x.reshape(-1, 256), recipe=model.act_recipe)
    ref = reference(host_result(q), host_result(model.weight_result()),
                    model.bias.cpu().numpy())
    tol = TOLERANCE["bf16" if dtype == "bfloat16" else "f32"]
    assert rel_error(y.float().reshape(-1, 96).cpu().numpy(), ref) <= tol


def test_linear_under_cuda_graph_and_compile():
    torch_cuda()
    lin = torch.nn.Linear(512, 256, dtype=torch.bfloat16, device="cuda")
    model = nt.Linear.from_linear(lin)
    x = torch.randn(4, 512, device="cuda", dtype=torch.bfloat16)
    with torch.inference_mode():
        model(x)
        torch.cuda.synchronize()
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            y = model(x)
        x.copy_(torch.randn_like(x))
        g.replay()
        torch.cuda.synchronize()
        assert torch.equal(y, model(x))
        compiled = torch.compile(model, fullgraph=True)
        assert torch.equal(compiled(x), model(x))
        graphed = torch.compile(model, fullgraph=True, mode="reduce-overhead")
        for _ in range(3):  # recorded, then replayed
            x.copy_(torch.randn_like(x))
            assert torch.equal(graphed(x).clone(), model(x))


def test_swap_linears():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    mlp = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.GELU(),
                              torch.nn.Sequential(torch.nn.Linear(512, 256)),
                              torch.nn.Linear(256, 8), torch.nn.Linear(8, 4)).to(device)
    x = torch.randn(16, 256, device=device)
    with torch.inference_mode():
        want = mlp(x)
        nt.swap_linears(mlp)
        got = mlp(x)
    kinds = [type(m).__name__ for m in mlp.modules()]
    assert kinds.count("Linear") == 4  # three swapped (nvfp4), one kept (K = 8)
    assert isinstance(mlp[0], nt.Linear) and isinstance(mlp[2][0], nt.Linear)
    assert isinstance(mlp[4], torch.nn.Linear) and not isinstance(mlp[4], nt.Linear)
    err = (got - want).norm() / want.norm()
    assert err < 0.3, err  # NVFP4 of random weights and activations: about 0.1


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    # torch.library.opcheck: schema, fake kernel vs real outputs, aliasing
    # (a custom op's outputs may not alias), autograd registration, AOT.
    _device(device)
    a = nvfp4._recipes.info_for_text(A_TOKEN).text
    w = nvfp4._recipes.info_for_text(W_2D).text
    x = torch.randn(40, 256, device=device)
    qa = torch.ops.nvfp4.quantize(x, a)
    qw = torch.ops.nvfp4.quantize(torch.randn(96, 256, device=device), w)
    bias = torch.randn(96, device=device)
    cases = [(torch.ops.nvfp4.quantize.default, (x, a)),
             (torch.ops.nvfp4.quantize.default, (x.bfloat16(), "local_1x64")),
             (torch.ops.nvfp4.dequantize.default, (*qa, a)),
             (torch.ops.nvfp4.per_token_scale.default, (qa[2], 448)),
             (torch.ops.nvfp4.matmul.default, (*qa, a, *qw, w, bias, 0.5, "f32"))]
    if device == "cuda":
        splits = torch.tensor([0, 25, 15], dtype=torch.int64, device=device)
        ga = torch.ops.nvfp4.grouped_quantize(x, splits, a)
        gw = nvfp4.stack_groups(nvfp4.grouped_quantize(
            torch.randn(3 * 32, 256, device=device),
            torch.full((3,), 32, dtype=torch.int64, device=device), recipe=w), 3)
        cases += [(torch.ops.nvfp4.grouped_quantize.default, (x, splits, a)),
                  (torch.ops.nvfp4.grouped_matmul.default,
                   (*ga, a, splits, gw.data, gw.scale, gw.amax, w, None, 1.0, "bf16"))]
    for op, args in cases:
        torch.library.opcheck(op, args)


@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_reads_lazy_results_without_mutating_them(dynamic):
    # GPU results hold their outputs as one allocation until read (see
    # QuantizeResult.__getattr__); a traced read makes views in the graph
    # and leaves the object alone. Built here on a CPU buffer.
    from nvfp4._result import new_result
    info = nvfp4._recipes.info_for_text(W_2D)
    ref = nvfp4.quantize(torch.randn(96, 256), recipe=info.text)
    total, items = info.specs(96, 256).plan
    buf = torch.zeros(total, dtype=torch.uint8)
    backend = nvfp4._device._make("torch")
    views = backend.views(buf, items)
    for name in ("data", "scale", "amax"):
        views[name].copy_(getattr(ref, name))
    holder = {}

    def f(x):
        q = holder["q"]
        a = nvfp4.quantize(x, recipe=A_TOKEN)
        return nvfp4.matmul(a, q, out_dtype="f32"), nvfp4.dequantize(q)

    cf = torch.compile(f, fullgraph=True, dynamic=dynamic, backend="aot_eager")
    for m in (5, 9):
        holder["q"] = new_result(None, info.text, None, (backend, buf, items))
        x = torch.randn(m, 256)
        got = cf(x)
        assert "data" not in holder["q"].__dict__  # still lazy
        for g, w in zip(got, (nvfp4.matmul(nvfp4.quantize(x, recipe=A_TOKEN), ref,
                                           out_dtype="f32"), nvfp4.dequantize(ref))):
            assert torch.equal(g, w)
