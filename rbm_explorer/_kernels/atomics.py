"""Atomic operations on an int64 array, for kernels that several threads run at once on one job.

numba has no atomics of its own; these emit LLVM's ``atomicrmw`` and atomic loads. A job's work counter is a
small int64 array: ``work[0]`` is the next row to claim and ``work[1]`` the number of rows finished
(``_kernels.sampling``'s ``*_claimed`` kernels).
"""

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _item_pointer(context, builder, array_type, array, index):
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index])


@intrinsic
def atomic_fetch_add(typingctx, array, index, value):
    """``old = array[index]; array[index] += value; return old`` as one atomic step (sequentially consistent)."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None
    sig = types.int64(array, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, value, "seq_cst")

    return sig, codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]`` read atomically (acquire: what the writer stored before its atomic add is visible)."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1):
        return None
    sig = types.int64(array, types.intp)

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def spin_pause(typingctx):
    """A CPU hint inside a spin-wait loop (``pause`` on x86; nothing elsewhere)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _X86:
            pause = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                   "llvm.x86.sse2.pause")
            builder.call(pause, [])
        return context.get_dummy_value()

    return sig, codegen
