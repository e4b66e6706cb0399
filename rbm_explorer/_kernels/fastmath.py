"""A vectorisable float32 ``exp`` for the sampling kernels.

numba's ``np.exp`` on float32 is a scalar libm call (about 4 ns), which made sampling cost half as much as
the two matrix products. This one evaluates 2**t as a degree-5 polynomial on the fractional part times
2**n built from its IEEE exponent bits: relative error < 2.5e-7 over the clamped range, about 0.3 ns.
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
    """exp(x) for float32 x; the exponent is clamped to [-126, 126] in base 2, so it never overflows.

    2**t = 2**n 2**f with n = rint(t) and f in [-1/2, 1/2]; 2**f is a degree-5 polynomial fitted for least
    maximum relative error (7.5e-8 in exact arithmetic, 2.4e-7 with float32 rounding, as the earlier degree-6
    Taylor-like one). rint instead of floor(t + 1/2) and one degree less: the two-state kernel ran 7 % faster.
    """
    t = x * _LOG2E
    t = min(max(t, np.float32(-126.0)), np.float32(126.0))
    n = np.rint(t)
    f = t - n
    p = np.float32(1.3276472e-3)
    p = p * f + np.float32(9.6755419e-3)
    p = p * f + np.float32(5.5507131e-2)
    p = p * f + np.float32(2.4022120e-1)
    p = p * f + np.float32(6.9314694e-1)
    p = p * f + np.float32(1.0000001)
    return p * _int32_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
