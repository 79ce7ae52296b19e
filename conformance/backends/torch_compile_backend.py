"""torch.compile (Inductor, CPU) as a backend: TorchBackend's ops, each run through a compiled graph.

Every op call goes through `torch.compile(fullgraph=True)`, one compiled function per op, static
parameters, dtype and rank, with a dynamo backend that hands the graph to Inductor and counts the
runs of what Inductor returned. A call that returns without that count moving ran eagerly (dynamo
skipped the frame, or fell back after its recompile limit) and raises RuntimeError, as does a graph
break: either would test eager torch under this backend's name. A dtype that tracing or Inductor
rejects is NotImplementedError (unsupported), as TorchBackend reports eager torch's.

The backward pass (`vjp`, TorchBackend's: the compiled forward on an input that requires grad,
then `torch.autograd.grad`) runs Inductor's compiled backward graph: with compile_fx as dynamo's
backend, AOTAutograd traces the joint graph and hands the backward half to Inductor
(`compile_fx_backward`, compiled lazily at the first backward), and the adapter counts the runs
of what Inductor returned for it; a gradient not computed by exactly one such run raises
RuntimeError. Built in as `torch-compile`, and on the other layouts of torch_backend.LAYOUTS
(inputs and upstream gradients alike) as `torch-compile-channels-last`, `-permuted`,
`-transposed` and `-noncontiguous`, all with one registry
(conformance/deviations/torch-compile.toml) and the `compile` Hypothesis profile.
"""

from __future__ import annotations

import functools
import re
import time
import types

import torch
import torch._dynamo
import torch._functorch.config
from torch._inductor.compile_fx import compile_fx, compile_fx_inner

from conformance.backends.torch_backend import TorchBackend

# Static shapes: a case's result then depends on the case alone, not on which shapes its key was
# compiled for before (dynamic=None, torch.compile's default, compiles a key's second shape
# symbolically), which Hypothesis needs to replay and shrink a failure. Nearly every drawn case has
# parameters of its own, so symbolic shapes rarely save a compile: on the `compile` profile run,
# static and dynamic=None both compiled ~225 graphs for 194 keys (~215 s CPU), dynamic=True ~40%
# more CPU (symbolic compiles cost more) and it meets an Inductor bug of its own.
DEFAULT_DYNAMIC = False


# Eager torch says "no kernel for this dtype" with NotImplementedError, which TorchBackend reports as
# unsupported. Traced, the same verdict comes from a meta function or an Inductor lowering as a
# RuntimeError ('"avg_pool2d" not implemented for 'torch.uint8'', "adaptive_max_pool2d not
# implemented for Long", mean's "could not infer output dtype") wrapped in dynamo's exceptions.
_UNSUPPORTED_DTYPE = re.compile(r"not implemented for '?\w|could not infer output dtype")


# torch 2.13's Inductor (seen on AVX-512 CPUs) stores int8 avg_pool1d/2d results that read padding
# or a ceil-mode overhang as int32 lanes into the int8 output: wrong values, and a heap overflow that
# aborts the process ("double free or corruption") or silently corrupts later cases' results, even
# in an isolated worker that outlives the call. Which calls take that kernel cannot be told in
# advance, so no int8 call to them is run: unsupported with the reason, as TorchBackend does for
# max pooling backward passes that would write past the gradient.
_INT8_AVERAGE_OVERRUNS = torch.__version__.startswith("2.13.")


# torch 2.13's Inductor (CPU) compiles an 8-bit integer adaptive_avg_pool2d whose output is taller
# than its input (e.g. uint8 (1, 1, 4) to output_size (2, None)) into a vectorised kernel that
# divides by zero in lanes past the row and kills the process with SIGFPE (plain torch.compile
# does too). Which shapes take that kernel is only known from trials, so no such call is run:
# unsupported with the reason (adaptive_avg_pool1d, the 2-d op with one row, was not seen to).
_EIGHT_BIT_ADAPTIVE_AVERAGE_TRAPS = torch.__version__.startswith("2.13.")


def _root_cause(error: BaseException) -> BaseException:
    seen = set()
    while (error.__cause__ or error.__context__) is not None and id(error) not in seen:
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return error


class TorchCompileBackend(TorchBackend):
    """TorchBackend with each (op, static parameters) compiled once by Inductor."""

    def __init__(self, name: str = "torch-compile", dynamic: bool | None = DEFAULT_DYNAMIC,
                 **torch_backend_options):
        super().__init__(name, **torch_backend_options)
        # Compiled code from an earlier backend (another test session in this process, another
        # configuration) must not answer for this one, and counters start from zero.
        torch._dynamo.reset()
        self.dynamic = dynamic
        self._functions: dict[tuple, object] = {}
        self._generations: dict[tuple, int] = {}
        # Seconds spent in calls that compiled and in calls served by a compiled graph, for
        # judging the compile budget of a run (the `compile` Hypothesis profile).
        self.stats = {"keys": 0, "compiles": 0, "graph_runs": 0, "rollovers": 0,
                      "compiling_calls": 0, "compiling_seconds": 0.0,
                      "cached_calls": 0, "cached_seconds": 0.0,
                      "backward_compiles": 0, "backward_runs": 0, "vjp_seconds": 0.0}

    def vjp(self, op_name: str, input, grad_output, *args, **kwargs):
        """TorchBackend's vjp (the compiled forward, then torch.autograd.grad), checked: the
        gradient must come from exactly one run of a backward graph that Inductor compiled."""
        runs_before = self.stats["backward_runs"]
        started = time.perf_counter()
        try:
            gradient = super().vjp(op_name, input, grad_output, *args, **kwargs)
        finally:
            self.stats["vjp_seconds"] += time.perf_counter() - started
        runs = self.stats["backward_runs"] - runs_before
        if runs != 1:
            raise RuntimeError(
                f"torch.autograd.grad ran {runs} Inductor-compiled backward graphs for {op_name} "
                f"instead of 1: the gradient would not be Inductor's"
            )
        return gradient

    # Inductor has no max_pool3d backward of its own (`make_fallback(
    # aten.max_pool3d_with_indices_backward)`, torch/_inductor/lowering.py): eager torch's kernel
    # scatters through the indices of Inductor's forward unchecked, and those name the padding
    # for a window without input or one whose elements are all -inf (registry entries
    # max-pool-empty-window-index-from-padding, max-pool-index-names-padding-tied-with-lowest): a
    # negative index writes before the plane, before the gradient for the first one (a
    # segmentation fault), so such cases are not run (`refuse_writes_outside_the_gradient`). The
    # 1-d and 2-d backward is a decomposition to scatter_add (`max_pool2d_with_indices_backward`,
    # torch/_decomp/decompositions.py) whose indexing Inductor bounds-checks: those run, and raise.
    UNCHECKED_MAX_POOL_BACKWARD = ("max_pool3d",)

    def _call_torch(self, family, spatial_dims, tensor, args, kwargs):
        if (_INT8_AVERAGE_OVERRUNS and family == "avg_pool" and spatial_dims < 3
                and tensor.dtype == torch.int8):
            raise NotImplementedError(
                f"not run: torch {torch.__version__} Inductor's int8 {family}{spatial_dims}d "
                f"stores int32 results into its int8 output (wrong values, and a heap overflow "
                f"that corrupts later results)"
            )
        if (_EIGHT_BIT_ADAPTIVE_AVERAGE_TRAPS and family == "adaptive_avg_pool"
                and spatial_dims == 2 and tensor.dtype in (torch.int8, torch.uint8)):
            raise NotImplementedError(
                f"not run: torch {torch.__version__} Inductor's {tensor.dtype} "
                f"{family}{spatial_dims}d divides by zero (SIGFPE, the process dies) when the "
                f"output is taller than the input"
            )
        try:
            return self._call_compiled(family, spatial_dims, tensor, args, kwargs)
        except torch._dynamo.exc.FailOnRecompileLimitHit as error:
            raise RuntimeError(
                f"torch.compile hit dynamo's recompile limit for {family}{spatial_dims}d even on "
                f"a fresh code object; without fullgraph=True it would have run eagerly"
            ) from error
        except torch._dynamo.exc.TorchDynamoException as error:
            root = _root_cause(error)
            if isinstance(root, NotImplementedError) or _UNSUPPORTED_DTYPE.search(str(root)):
                raise NotImplementedError(f"torch.compile: {str(root).splitlines()[0]}") from error
            if isinstance(root, torch._dynamo.exc.Unsupported):
                # A graph break of dynamo's own making. When torch or the adapter rejects the
                # arguments while tracing, the root cause is that error (or an Observed*
                # exception), which passes through: rejecting is a verdict on the arguments.
                # fullgraph=True made the break an error; without it the call would have run
                # partly eagerly, so it is a failure of this backend, not a verdict.
                raise RuntimeError(
                    f"torch.compile could not capture {family}{spatial_dims}d in one graph "
                    f"(graph break), so Inductor would not run all of it: "
                    f"{str(root).splitlines()[0]}"
                ) from error
            # torch rejecting the arguments while tracing (a meta function's check), the
            # adapter's own check, or Inductor failing: dynamo's wrapper message runs to dozens
            # of lines, and reports quote it whole; the cause's first line says what happened.
            kind = type(root) if type(root) in (TypeError, ValueError, RuntimeError) else RuntimeError
            detail = (str(root).splitlines() or [type(root).__name__])[0]
            raise kind(f"{detail} (torch.compile: {type(error).__name__})") from error

    def _call_compiled(self, family, spatial_dims, tensor, args, kwargs):
        key = self._key(family, spatial_dims, tensor, args, kwargs)
        compiled = self._functions.get(key) or self._compile(key, family, spatial_dims, args, kwargs)
        try:
            return self._run_checked(compiled, key, tensor)
        except torch._dynamo.exc.FailOnRecompileLimitHit:
            # Each 0/1 size and each new shape guard is a legitimate recompile here, and one key
            # can meet more than dynamo's limit in a long run; a fresh code object starts a fresh
            # budget, so the call still runs compiled instead of failing or running eagerly.
            self.stats["rollovers"] += 1
            compiled = self._compile(key, family, spatial_dims, args, kwargs)
            return self._run_checked(compiled, key, tensor)

    @staticmethod
    def _key(family, spatial_dims, tensor, args, kwargs) -> tuple:
        # repr, not the values: 2 == 2.0 == True, but torch accepts or rejects them differently.
        # dtype, rank and grad mode change the graph anyway; as part of the key they give each
        # graph its own recompile budget, which then only shape specialisations spend.
        return (family, spatial_dims, repr(args), repr(sorted(kwargs.items())),
                tensor.dtype, tensor.dim(), torch.is_grad_enabled())

    def _run_checked(self, compiled, key, tensor):
        runs_before, compiles_before = self.stats["graph_runs"], self.stats["compiles"]
        started = time.perf_counter()
        # The parameters are this function's key, never inputs: with dynamic=True dynamo would
        # make the closure's ints symbolic, and TorchBackend's f"{family}{spatial_dims}d" then
        # breaks the graph; Inductor's pooling lowerings need static kernel sizes anyway.
        with torch._dynamo.config.patch(specialize_int=True):
            result = compiled(tensor)
        kind = "compiling" if self.stats["compiles"] != compiles_before else "cached"
        self.stats[f"{kind}_calls"] += 1
        self.stats[f"{kind}_seconds"] += time.perf_counter() - started
        runs = self.stats["graph_runs"] - runs_before
        if runs != 1:
            raise RuntimeError(
                f"torch.compile did not run an Inductor graph for {key[0]}{key[1]}d "
                f"(args {key[2]}, kwargs {key[3]}, dtype {key[4]}, input shape "
                f"{tuple(tensor.shape)}): {runs} compiled graph runs "
                f"instead of 1, so dynamo ran the call eagerly (recompile limit, or a skipped "
                f"frame); the result would be eager torch's, not Inductor's"
            )
        return result

    def _compile(self, key, family, spatial_dims, args, kwargs):
        parent_call = super()._call_torch

        def pooling(tensor):
            return parent_call(family, spatial_dims, tensor, args, kwargs)

        # dynamo keeps its cache, and counts recompiles against its limit, per code object, and
        # every closure made here shares one: without a code object of its own, all keys would
        # share one budget of `recompile_limit` graphs and fall back to eager after 8 of them.
        generation = self._generations.get(key, 0)
        self._generations[key] = generation + 1
        self.stats["keys"] += generation == 0
        name = f"{family}{spatial_dims}d_{len(self._functions)}_{generation}"
        code = pooling.__code__.replace(co_name=name, co_qualname=name)
        function = types.FunctionType(code, pooling.__globals__, name, None, pooling.__closure__)
        compiled = torch.compile(function, backend=self._inductor, fullgraph=True,
                                 dynamic=self.dynamic)
        self._functions[key] = compiled
        return compiled

    def _inductor(self, graph_module, example_inputs):
        """A dynamo backend: Inductor's compiled graph, counting each time it runs.

        compile_fx is what torch.compile's default backend runs: it hands the graph to
        AOTAutograd (`dynamo_common.aot_autograd(fw_compiler=..., bw_compiler=...)` in
        `_compile_fx_main`, torch/_inductor/compile_fx.py), whose forward, inference and backward
        compilers all call `inner_compile`, compile_fx_inner by default; the backward one
        (`compile_fx_backward`) passes `is_backward=True`. The backward graph is compiled lazily,
        at the first backward run (`_AutogradBackwardCompiler.get_or_compile`,
        torch/_functorch/_aot_autograd/runtime_wrappers.py), so `_inner_compile` wraps what
        Inductor returns for it and counts its runs, which `vjp` checks. In grad mode
        AOTAutograd's on-disk cache is off, so that every backward graph passes through
        `inner_compile`: a hit would rebuild the compiled backward from the cache
        (`AOTAutogradCache.try_load`, torch/_functorch/_aot_autograd/autograd_cache.py) without
        calling it, and its runs could not be counted. (This backend's own graphs are never
        saved there anyway: `_should_save_cache` in graph_compile.py wants the backward's
        `_fx_graph_cache_key`, which the counting wrapper lacks.) Inductor's own FX graph cache,
        inside compile_fx_inner, still spares repeated code generation and C++ compiles."""
        with torch._functorch.config.patch(
                enable_autograd_cache=torch._functorch.config.enable_autograd_cache
                and not torch.is_grad_enabled()):
            compiled = compile_fx(graph_module, example_inputs, inner_compile=self._inner_compile)
        self.stats["compiles"] += 1

        def run(*arguments):
            self.stats["graph_runs"] += 1
            return compiled(*arguments)

        # Inductor's graphs take their inputs as one list it may clear (boxed); the wrapper
        # must keep that convention or dynamo would hand it unpacked arguments.
        if getattr(compiled, "_boxed_call", False):
            run._boxed_call = True
        return run

    def _inner_compile(self, graph_module, example_inputs, **kwargs):
        """Inductor's compile_fx_inner; a backward graph's result counts its runs."""
        output_code = compile_fx_inner(graph_module, example_inputs, **kwargs)
        if not kwargs.get("is_backward"):
            return output_code
        self.stats["backward_compiles"] += 1

        def run_backward(arguments):
            self.stats["backward_runs"] += 1
            return output_code(arguments)

        # AOTAutograd calls a backward with `_boxed_call` with one list of arguments
        # (`call_func_at_runtime_with_args`, torch/_functorch/_aot_autograd/utils.py), as
        # Inductor's OutputCode takes them.
        if not getattr(output_code, "_boxed_call", False):
            raise RuntimeError(f"Inductor returned an unboxed backward {type(output_code)}")
        run_backward._boxed_call = True
        return run_backward


def dynamic_shapes() -> TorchCompileBackend:
    """Symbolic shapes from the first compile: Inductor's dynamic-shape lowerings, which users get
    on a compiled function's second input shape. A case's result may then depend on the shapes
    its key met before."""
    return TorchCompileBackend("torch-compile-dynamic", dynamic=True)


def in_layout(layout: str) -> TorchCompileBackend:
    """`torch-compile` on inputs and upstream gradients in `layout` (torch_backend.LAYOUTS):
    static shapes compile for the input's strides, and Inductor's lowerings pick layouts from
    them (the max pool backward decomposition, `max_pool2d_with_indices_backward` in
    torch/_decomp/decompositions.py, returns the gradient in the input's memory format), so the
    generated code differs from the contiguous case's."""
    return TorchCompileBackend(f"torch-compile-{layout}", layout=layout)


channels_last, permuted, transposed, non_contiguous = (
    functools.partial(in_layout, layout)
    for layout in ("channels-last", "permuted", "transposed", "noncontiguous"))
