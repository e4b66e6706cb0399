"""A vectorisable float32 ``exp`` for the sampling kernels.

numba's ``np.exp`` on float32 is a scalar libm call (about 4 ns), which made sampling cost half as much as
the two matrix products. This one evaluates 2**t as a degree-6 polynomial on the fractional part times
2**n built from its IEEE exponent bits: relative error < 2e-7 over the clamped range, about 0.3 ns.
"""

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LOG2E = np.float32(1.4426950408889634)


@intrinsic
def _int32_bits_as_float32(typingctx, x):
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def exp32(x):
    """exp(x) for float32 x; the exponent is clamped to [-126, 126] in base 2, so it never overflows."""
    t = x * _LOG2E
    t = min(max(t, np.float32(-126.0)), np.float32(126.0))
    n = np.floor(t + np.float32(0.5))
    f = t - n
    p = np.float32(1.5353362e-4)
    p = p * f + np.float32(1.3398874e-3)
    p = p * f + np.float32(9.6180940e-3)
    p = p * f + np.float32(5.5504109e-2)
    p = p * f + np.float32(2.4022650e-1)
    p = p * f + np.float32(6.9314718e-1)
    p = p * f + np.float32(1.0)
    return p * _int32_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
