"""mint.optim: SGD, Adam, AdamW and RMSprop step for step against torch.optim, state dicts,
validation."""

import io
import itertools
import re

import numpy as np
import pytest

import mint
from helpers import requires_torch, torch
from mint import Parameter, optim

SHAPES = [(3, 4), (4,), (2, 1, 3, 3)]
STEPS = 6
# float64 against torch.optim: the same formulas, rounding differs only where torch fuses a
# multiply-add, so the parameters agree to a few ulps after STEPS steps.
RTOL, ATOL = 1e-13, 1e-15


def _make_problem(seed=0, dtype=np.float64):
    """Initial parameter values and one gradient per step and parameter."""
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
             for _ in range(STEPS)]
    return initial, grads


def _run_mint(make_optimizer, initial, grads, lrs=None):
    params = [Parameter(value.copy()) for value in initial]
    optimizer = make_optimizer(params)
    history = []
    for step, step_grads in enumerate(grads):
        if lrs is not None:
            optimizer.lr = lrs[step]
        optimizer.zero_grad()
        for parameter, grad in zip(params, step_grads, strict=True):
            parameter.grad += grad
        optimizer.step()
        history.append([p.data.copy() for p in params])
    return history


def _run_torch(make_optimizer, initial, grads, lrs=None):
    params = [torch.nn.Parameter(torch.tensor(value)) for value in initial]
    optimizer = make_optimizer(params)
    history = []
    for step, step_grads in enumerate(grads):
        if lrs is not None:
            optimizer.param_groups[0]["lr"] = lrs[step]
        for parameter, grad in zip(params, step_grads, strict=True):
            parameter.grad = torch.tensor(grad)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def _assert_histories_close(actual, expected):
    for step, (ours, theirs) in enumerate(zip(actual, expected, strict=True)):
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL,
                                       err_msg=f"step {step + 1}, parameter {index}")


SGD_OPTIONS = [
    dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    for momentum, dampening, weight_decay, nesterov in itertools.product(
        (0, 0.9), (0, 0.3), (0, 0.05), (False, True)
    )
    if not (nesterov and (momentum == 0 or dampening != 0))
]


@requires_torch
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: "-".join(f"{k}={v}"
                                                                       for k, v in o.items()))
def test_sgd_matches_torch_step_for_step(options):
    initial, grads = _make_problem()
    ours = _run_mint(lambda p: optim.SGD(p, lr=0.1, **options), initial, grads)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, **options), initial, grads)
    _assert_histories_close(ours, theirs)
    assert not np.allclose(ours[0][0], initial[0])  # the run did move the parameters


@requires_torch
@pytest.mark.parametrize("weight_decay", [0, 0.1])
@pytest.mark.parametrize("betas, eps", [((0.9, 0.999), 1e-8), ((0.5, 0.9), 1e-3)])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])  # L2 in the gradient, decoupled decay
def test_adam_and_adamw_match_torch_step_for_step(name, betas, eps, weight_decay):
    initial, grads = _make_problem()
    options = dict(lr=0.01, betas=betas, eps=eps, weight_decay=weight_decay)
    ours = _run_mint(lambda p: getattr(optim, name)(p, **options), initial, grads)
    theirs = _run_torch(lambda p: getattr(torch.optim, name)(p, **options), initial, grads)
    _assert_histories_close(ours, theirs)


def test_adamw_defaults_are_pytorchs():
    adamw = optim.AdamW(_param())
    assert adamw.hyperparameters() == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                       "weight_decay": 1e-2}


RMSPROP_OPTIONS = [
    dict(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
    for alpha, eps, weight_decay, momentum, centered in itertools.product(
        (0.99, 0.5), (1e-8, 1e-2), (0, 0.05), (0, 0.9), (False, True)
    )
]


@requires_torch
@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()))
def test_rmsprop_matches_torch_step_for_step(options):
    initial, grads = _make_problem()
    ours = _run_mint(lambda p: optim.RMSprop(p, lr=0.01, **options), initial, grads)
    theirs = _run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, **options), initial, grads)
    _assert_histories_close(ours, theirs)


@requires_torch
@pytest.mark.parametrize("make_mint, make_torch", [
    (lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    (lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
     lambda p: torch.optim.RMSprop(p, momentum=0.5, centered=True)),
], ids=["adamw", "rmsprop"])
def test_adamw_and_rmsprop_match_torch_in_float32(make_mint, make_torch):
    initial, grads = _make_problem(seed=2, dtype=np.float32)
    ours, theirs = _run_mint(make_mint, initial, grads), _run_torch(make_torch, initial, grads)
    assert ours[-1][0].dtype == np.float32
    for a, b in zip(ours[-1], theirs[-1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("make_mint, make_torch", [
    (lambda p: optim.SGD(p, lr=1.0, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=1.0, momentum=0.9)),
    (lambda p: optim.Adam(p, lr=1.0), lambda p: torch.optim.Adam(p, lr=1.0)),
    (lambda p: optim.AdamW(p, lr=1.0), lambda p: torch.optim.AdamW(p, lr=1.0)),
    (lambda p: optim.RMSprop(p, lr=1.0, momentum=0.9, weight_decay=0.1),
     lambda p: torch.optim.RMSprop(p, lr=1.0, momentum=0.9, weight_decay=0.1)),
], ids=["sgd", "adam", "adamw", "rmsprop"])
def test_setting_lr_between_steps_matches_torch_schedule(make_mint, make_torch):
    initial, grads = _make_problem(seed=1)
    lrs = [0.1 * 0.5**step for step in range(STEPS)]
    _assert_histories_close(_run_mint(make_mint, initial, grads, lrs),
                            _run_torch(make_torch, initial, grads, lrs))


@requires_torch
def test_adam_matches_torch_in_float32():
    initial, grads = _make_problem(seed=2, dtype=np.float32)
    ours = _run_mint(lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1), initial, grads)
    theirs = _run_torch(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1), initial, grads)
    assert ours[-1][0].dtype == np.float32
    for a, b in zip(ours[-1], theirs[-1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
    lambda p: optim.RMSprop(p, lr=0.01),
], ids=["sgd-momentum", "sgd-nesterov", "sgd-plain", "adam", "adamw", "rmsprop-all-options",
        "rmsprop-plain"])
def test_state_dict_round_trip_through_npz_mid_run_continues_identically(make_optimizer):
    initial, grads = _make_problem(seed=3)
    params = [Parameter(value.copy()) for value in initial]
    optimizer = make_optimizer(params)

    def run(optimizer, params, step_grads):
        for grad_list in step_grads:
            optimizer.zero_grad()
            for parameter, grad in zip(params, grad_list, strict=True):
                parameter.grad += grad
            optimizer.step()

    run(optimizer, params, grads[:2])
    optimizer.lr = 0.05  # a schedule changed it; the checkpoint must keep it
    buffer = io.BytesIO()
    np.savez(buffer, **optimizer.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as archive:
        saved = {key: archive[key] for key in archive.files}
    assert saved["step"] == 2 and saved["lr"] == 0.05
    resumed_params = [Parameter(p.data.copy()) for p in params]
    resumed = make_optimizer(resumed_params)
    resumed.load_state_dict(saved)
    assert resumed.lr == 0.05

    run(optimizer, params, grads[2:])
    run(resumed, resumed_params, grads[2:])
    for original, restored in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(restored.data, original.data)


def test_state_dict_is_flat_str_to_ndarray_with_per_parameter_keys():
    params = [Parameter(np.zeros((2, 3))), Parameter(np.zeros(3))]
    sgd = optim.SGD(params, lr=0.1, momentum=0.9)
    state = sgd.state_dict()
    assert set(state) == {"lr", "momentum", "dampening", "weight_decay", "nesterov", "step",
                          "0.momentum_buffer", "1.momentum_buffer"}
    assert all(type(value) is np.ndarray for value in state.values())
    assert state["lr"].shape == () and state["1.momentum_buffer"].shape == (3,)
    adam = optim.Adam(params).state_dict()
    assert {"lr", "betas", "eps", "weight_decay", "step", "0.exp_avg", "1.exp_avg_sq"} <= set(adam)
    assert set(optim.AdamW(params).state_dict()) == set(adam)
    rmsprop = optim.RMSprop(params, momentum=0.9, centered=True).state_dict()
    assert set(rmsprop) == {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "step",
                            *(f"{i}.{kind}" for i in (0, 1)
                              for kind in ("square_avg", "momentum_buffer", "grad_avg"))}
    assert set(optim.RMSprop(params).state_dict()) == {
        "lr", "alpha", "eps", "weight_decay", "momentum", "centered", "step", "0.square_avg",
        "1.square_avg"}


def test_load_state_dict_rejects_wrong_keys_and_shapes_and_changes_nothing():
    params = [Parameter(np.ones((2, 3)))]
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9)
    good = optimizer.state_dict()
    with pytest.raises(ValueError, match=re.escape("missing keys ['0.momentum_buffer']")):
        optimizer.load_state_dict({k: v for k, v in good.items() if k != "0.momentum_buffer"})
    with pytest.raises(ValueError, match=re.escape("unexpected keys ['1.momentum_buffer']")):
        optimizer.load_state_dict({**good, "1.momentum_buffer": np.zeros(3)})
    bad = {**good, "lr": np.array(7.0), "0.momentum_buffer": np.zeros((3, 2))}
    with pytest.raises(ValueError, match=re.escape("'0.momentum_buffer' has shape (3, 2), "
                                                   "expected (2, 3)")):
        optimizer.load_state_dict(bad)
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0.0, got -1.0"):
        optimizer.load_state_dict({**good, "lr": np.array(-1.0)})
    assert optimizer.lr == 0.1


def test_step_updates_parameter_data_in_place_and_zero_grad_clears_grads():
    parameter = Parameter(np.ones(3))
    data = parameter.data
    optimizer = optim.SGD([parameter], lr=0.5)
    parameter.grad += 2.0
    optimizer.step()
    assert parameter.data is data
    np.testing.assert_array_equal(data, np.zeros(3))
    optimizer.zero_grad()
    np.testing.assert_array_equal(parameter.grad, np.zeros(3))


def test_sgd_first_momentum_step_uses_the_gradient_itself():
    parameter = Parameter(np.zeros(2))
    optimizer = optim.SGD([parameter], lr=1.0, momentum=0.9, dampening=0.5)
    parameter.grad[...] = [1.0, -2.0]
    optimizer.step()  # buffer = grad (no dampening on the first step)
    np.testing.assert_array_equal(parameter.data, [-1.0, 2.0])
    optimizer.step()  # buffer = 0.9 * grad + 0.5 * grad
    np.testing.assert_allclose(parameter.data, [-2.4, 4.8], rtol=1e-15)


def _param():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("build, error, message", [
    (lambda: optim.SGD(_param(), lr=-0.1), ValueError, "SGD: lr must be a finite number >= 0"),
    (lambda: optim.SGD(_param(), lr=float("nan")), ValueError, "SGD: lr must be a finite"),
    (lambda: optim.SGD(_param(), lr="0.1"), TypeError, "SGD: lr must be a real number"),
    (lambda: optim.SGD(_param(), lr=0.1, momentum=-0.5), ValueError, "SGD: momentum must be"),
    (lambda: optim.SGD(_param(), lr=0.1, dampening=1.5), ValueError, "SGD: dampening must be "
                                                                     "in [0, 1]"),
    (lambda: optim.SGD(_param(), lr=0.1, weight_decay=-1), ValueError, "SGD: weight_decay"),
    (lambda: optim.SGD(_param(), lr=0.1, nesterov=True), ValueError, "SGD: nesterov requires "
                                                                     "momentum > 0"),
    (lambda: optim.SGD(_param(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     ValueError, "dampening = 0"),
    (lambda: optim.SGD(_param(), lr=0.1, nesterov=1), TypeError, "SGD: nesterov must be a bool"),
    (lambda: optim.Adam(_param(), lr=-1), ValueError, "Adam: lr must be"),
    (lambda: optim.Adam(_param(), betas=(1.0, 0.999)), ValueError, "Adam: betas[0] must be a "
                                                                   "finite number [0.0, 1.0)"),
    (lambda: optim.Adam(_param(), betas=(0.9, -0.1)), ValueError, "Adam: betas[1] must be"),
    (lambda: optim.Adam(_param(), betas=0.9), ValueError, "Adam: betas must be a pair"),
    (lambda: optim.Adam(_param(), eps=-1e-8), ValueError, "Adam: eps must be"),
    (lambda: optim.Adam(_param(), weight_decay=-0.1), ValueError, "Adam: weight_decay must be"),
    (lambda: optim.Adam([]), ValueError, "Adam: got an empty parameter list"),
    (lambda: optim.Adam([np.zeros(2)]), TypeError, "Adam: params[0] must be a mint.Parameter"),
    (lambda: optim.SGD(_param() * 2, lr=0.1), ValueError, "appears more than once"),
    (lambda: optim.AdamW(_param(), weight_decay=-1), ValueError, "AdamW: weight_decay must be"),
    (lambda: optim.AdamW(_param(), betas=(0.9,)), ValueError, "AdamW: betas must be a pair"),
    (lambda: optim.RMSprop(_param(), lr=-1), ValueError, "RMSprop: lr must be"),
    (lambda: optim.RMSprop(_param(), alpha=1.5), ValueError, "RMSprop: alpha must be in [0, 1]"),
    (lambda: optim.RMSprop(_param(), alpha=-0.1), ValueError, "RMSprop: alpha must be"),
    (lambda: optim.RMSprop(_param(), eps=-1.0), ValueError, "RMSprop: eps must be"),
    (lambda: optim.RMSprop(_param(), momentum=-0.9), ValueError, "RMSprop: momentum must be"),
    (lambda: optim.RMSprop(_param(), weight_decay=-0.1), ValueError, "RMSprop: weight_decay"),
    (lambda: optim.RMSprop(_param(), centered=1), TypeError, "RMSprop: centered must be a bool"),
])
def test_bad_hyperparameters_raise_naming_them(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


def test_setting_a_negative_lr_raises():
    optimizer = optim.Adam(_param())
    optimizer.lr = 0.5
    assert optimizer.lr == 0.5
    with pytest.raises(ValueError, match="Adam: lr must be"):
        optimizer.lr = -0.5
    assert optimizer.lr == 0.5


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_every_registered_optimizer_builds_from_its_defaults_and_takes_a_step(name):
    entry = optim.OPTIMIZERS[name]
    parameter = Parameter(np.ones(3))
    optimizer = entry.cls([parameter], **entry.defaults)
    assert entry.summary and optimizer.lr == entry.defaults["lr"]
    parameter.grad += 1.0
    optimizer.step()
    assert np.all(parameter.data < 1)


@pytest.mark.parametrize("make", [lambda params: optim.Adam(params, lr=0.01),
                                  lambda params: optim.SGD(params, lr=0.01, momentum=0.9)])
def test_an_optimizer_made_before_model_to_float64_steps_in_float64(make):
    from mint import models

    images = np.random.default_rng(0).random((8, 1, 4, 4))
    grads = np.random.default_rng(1).standard_normal((8, 10))
    runs = []
    for made_before in (True, False):
        mint.manual_seed(0)
        model = models.mlp((1, 4, 4), hidden=(6,))
        optimizer = make(model.parameters()) if made_before else None
        model.to(np.float64)
        optimizer = optimizer or make(model.parameters())
        for _ in range(3):
            optimizer.zero_grad()
            model(images)
            model.backward(grads)
            optimizer.step()
        runs.append([p.data for p in model.parameters()])
    for before, after in zip(*runs, strict=True):
        assert before.dtype == np.float64
        np.testing.assert_array_equal(before, after)


# ------------------------------------------------ update rules: loop kernels and NumPy twins

UPDATE_RULES = [
    *[(f"sgd-{i}", lambda params, o=o: optim.SGD(params, lr=0.1, **o))
      for i, o in enumerate(SGD_OPTIONS)],
    ("adam", lambda params: optim.Adam(params, lr=0.01, weight_decay=0.1)),
    ("adamw", lambda params: optim.AdamW(params, lr=0.01)),
]


def _run_with_rule(make_optimizer, initial, grads, rules):
    """_run_mint with every update done by ``rules`` (mint.kernels.optimizers or
    mint.vectorized.optimizers)."""
    original = optim._rule
    optim._rule = lambda *arrays: (rules, [a.reshape(-1) for a in arrays])
    try:
        return _run_mint(make_optimizer, initial, grads)
    finally:
        optim._rule = original


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [make for _, make in UPDATE_RULES],
                         ids=[name for name, _ in UPDATE_RULES])
def test_loop_and_numpy_update_rules_give_the_same_bits(make, dtype):
    """The loop kernels round each value through the same operations as NumPy's in-place
    expressions: no tolerance."""
    initial, grads = _make_problem(3, dtype)
    loop = _run_with_rule(make, initial, grads, mint.kernels.optimizers)
    numpy = _run_with_rule(make, initial, grads, mint.vectorized.optimizers)
    for ours, theirs in zip(loop, numpy, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [make for _, make in UPDATE_RULES],
                         ids=[name for name, _ in UPDATE_RULES])
def test_a_strided_parameter_is_updated_in_place_as_a_contiguous_one(make):
    """A parameter whose data was replaced by a transposed view is not copied by a reshape (the
    update would be lost): such arrays go through the NumPy rule, in place."""
    initial, grads = _make_problem(4)
    contiguous = _run_mint(make, initial, grads)
    params = [Parameter(value.copy()) for value in initial]
    for parameter in params:
        parameter.data = np.ascontiguousarray(parameter.data.T).T  # same values, strided
    optimizer = make(params)
    for step_grads in grads:
        optimizer.zero_grad()
        for parameter, grad in zip(params, step_grads, strict=True):
            parameter.grad += grad
        optimizer.step()
    for a, b in zip(contiguous[-1], [p.data for p in params], strict=True):
        np.testing.assert_array_equal(a, b)
