"""Rasterise procedural faces from a parameter table (one row per face) into a preallocated uint8 array.

Why a kernel: every face has its own geometry, so a numpy version would evaluate every shape on every pixel of
every face as whole-array passes (tens of passes over n x size x size floats). Here each pixel is mapped once
into its face's own frame (undoing the shift and rotation, plus a smooth hand-drawn wobble) and tested against
the shapes front to back, skipping the background outside a per-face bounding box and the face interior tests
outside the head. 10,000 faces at 64 x 64 take about 3 s on one core; ``datasets.faces.render`` splits batches
over threads (the kernel releases the GIL).

Coordinates are fractions of the image side, origin at the image centre, ``v`` pointing down. The columns of
``params`` are named by the integer constants below; ``rbm_explorer.datasets.faces`` fills them. All
left/right features are drawn mirror-symmetric about the face axis ``u = 0`` (the tilt comes from the
rotation), so they are computed once on ``|u|``.
"""

import math

import numba as nb

(SHIFT_X, SHIFT_Y, ROTATION, STROKE,
 WARP_AMP, WARP_K1X, WARP_K1Y, WARP_P1, WARP_K2X, WARP_K2Y, WARP_P2, THICK_AMP, THICK_P,
 FACE_Y, FACE_A, FACE_B,
 EYE_Y, EYE_DX, EYE_RX, EYE_RY,
 BROW_GAP, BROW_LEN, BROW_TILT, BROW_BEND, BROW_THICK,
 NOSE_STYLE, NOSE_X, NOSE_TOP, NOSE_BOTTOM, NOSE_WIDTH,
 MOUTH_Y, MOUTH_HW, MOUTH_RISE,
 HAIR_TOP, HAIR_SIDE, HAIR_BOTTOM, HAIR_STYLE, HAIR_FREQ, HAIR_ANGLE, HAIR_PART_X, HAIR_PART_W,
 GLASSES, RIM_RX, RIM_RY, RIM_POWER,
 BANGS, FRINGE_Y, FRINGE_TILT, FRINGE_JAG, FRINGE_FREQ,
 BEARD, BEARD_TOP, BEARD_STYLE,
 HAT, HAT_BRIM_Y, HAT_BRIM_HW, HAT_CROWN_HW, HAT_CROWN_H, HAT_STYLE,
 N_PARAMS) = range(60)


@nb.njit(nogil=True, cache=True, inline="always")
def ellipse_distance(du, dv, a, b, power):
    """Approximate signed distance to the curve |du/a|^p + |dv/b|^p = 1 (p = 2 ellipse, p = 4 rounded box).

    First-order estimate f / |grad f|: exact on the curve, monotone away from it, which is all a stroke test
    needs.
    """
    x = abs(du) / a
    y = abs(dv) / b
    if power == 2.0:
        f = x * x + y * y - 1.0
        gx = 2.0 * x / a
        gy = 2.0 * y / b
    else:
        f = x ** power + y ** power - 1.0
        gx = power * x ** (power - 1.0) / a
        gy = power * y ** (power - 1.0) / b
    g = math.sqrt(gx * gx + gy * gy)
    if g < 1e-9:
        return -min(a, b)
    return f / g


@nb.njit(nogil=True, cache=True, inline="always")
def segment_distance(u, v, x0, y0, x1, y1):
    """Distance from (u, v) to the segment (x0, y0)-(x1, y1)."""
    dx = x1 - x0
    dy = y1 - y0
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0.0 else max(0.0, min(1.0, ((u - x0) * dx + (v - y0) * dy) / length2))
    ex = u - x0 - t * dx
    ey = v - y0 - t * dy
    return math.sqrt(ex * ex + ey * ey)


@nb.njit(nogil=True, cache=True, inline="always")
def bent_distance(du, dv, half_length, c, s_, bend):
    """Distance to a parabolic stroke through its centre: n = bend (s / L)^2 for |s| <= L in the frame turned
    by the angle with cosine ``c`` and sine ``s_``. ``bend > 0`` puts the ends lower (an arch, a frown);
    ``bend < 0`` lifts them (a smile)."""
    s = c * du + s_ * dv
    n = -s_ * du + c * dv
    if abs(s) <= half_length:
        r = s / half_length
        slope = 2.0 * bend * s / (half_length * half_length)
        return abs(n - bend * r * r) / math.sqrt(1.0 + slope * slope)
    end = half_length if s > 0 else -half_length
    return math.sqrt((s - end) ** 2 + (n - bend) ** 2)


@nb.njit(nogil=True, cache=True, inline="always")
def texture(u, v, style, freq, angle):
    """Fill pattern of hair and beards: 0 solid, 1 strands (stripes across ``angle``, hair only), 2 curls (a dot
    lattice)."""
    if style == 0:
        return True
    if style == 1:
        return math.sin(freq * (u * math.cos(angle) + v * math.sin(angle))) > -0.45
    return math.sin(freq * u) * math.sin(freq * v) > -0.25


@nb.njit(nogil=True, cache=True)
def face_pixel(p, u, v, hw, brow_cos, brow_sin):
    """Whether the point (u, v) of the face frame is ink, for the face row ``p`` and stroke half-width ``hw``
    (``brow_cos``, ``brow_sin``: the eyebrow tilt, computed once per face)."""
    # The hat hides everything above its brim.
    if p[HAT] > 0.5:
        brim_half = 0.75 * p[STROKE] + 0.004
        if abs(v - p[HAT_BRIM_Y]) <= brim_half:
            return abs(u) <= p[HAT_BRIM_HW]
        if v < p[HAT_BRIM_Y]:
            dv = p[HAT_BRIM_Y] - v
            if p[HAT_STYLE] < 0.5:
                return abs(u) <= p[HAT_CROWN_HW] and dv <= p[HAT_CROWN_H]
            return (u / p[HAT_CROWN_HW]) ** 2 + (dv / p[HAT_CROWN_H]) ** 2 <= 1.0

    a = p[FACE_A]
    b = p[FACE_B]
    dv_face = v - p[FACE_Y]
    q = (u / a) ** 2 + (dv_face / b) ** 2
    if abs(ellipse_distance(u, dv_face, a, b, 2.0)) <= hw:
        return True

    if q > 1.0:  # outside the head: hair only
        if v > p[HAIR_BOTTOM]:
            return False
        side = a + p[HAIR_SIDE]
        if dv_face < 0.0:
            inside = (u / side) ** 2 + (dv_face / (b + p[HAIR_TOP])) ** 2 <= 1.0
        else:
            inside = 0.55 * a < abs(u) <= side
        if not inside:
            return False
        if p[HAIR_PART_W] > 0.0 and dv_face < 0.0 and abs(u - p[HAIR_PART_X]) < p[HAIR_PART_W]:
            return False
        return texture(u, v, p[HAIR_STYLE], p[HAIR_FREQ], p[HAIR_ANGLE])

    au = abs(u)
    # Eyes, eyebrows, glasses: mirror-symmetric, computed on |u|.
    eu = au - p[EYE_DX]
    ev = v - p[EYE_Y]
    if (eu / p[EYE_RX]) ** 2 + (ev / p[EYE_RY]) ** 2 <= 1.0:
        return True
    brow_v = ev + p[EYE_RY] + p[BROW_GAP]
    if bent_distance(eu, brow_v, p[BROW_LEN], brow_cos, brow_sin, p[BROW_BEND]) <= hw * p[BROW_THICK]:
        return True
    if p[GLASSES] > 0.5:
        rx = p[RIM_RX]
        ry = p[RIM_RY]
        if abs(ellipse_distance(eu, ev, rx, ry, p[RIM_POWER])) <= hw:
            return True
        bridge_v = p[EYE_Y] - 0.3 * ry
        if au <= p[EYE_DX] - 0.9 * rx and abs(v - bridge_v) <= hw:
            return True
        temple_end = a * math.sqrt(max(0.0, 1.0 - ((p[EYE_Y] - p[FACE_Y]) / b) ** 2))
        if p[EYE_DX] + rx <= au <= temple_end and abs(ev) <= hw:
            return True

    # Nose and mouth, drawn before the beard so the beard's mouth opening keeps them visible.
    nx = u - p[NOSE_X]
    style = p[NOSE_STYLE]
    if style < 0.5:  # an L: bridge line and a foot to one side
        if segment_distance(nx, v, 0.0, p[NOSE_TOP], 0.0, p[NOSE_BOTTOM]) <= hw:
            return True
        if segment_distance(nx, v, 0.0, p[NOSE_BOTTOM], -p[NOSE_WIDTH], p[NOSE_BOTTOM]) <= hw:
            return True
    elif style < 1.5:  # a u-shaped tip only
        if bent_distance(nx, v - p[NOSE_BOTTOM] - 0.5 * p[NOSE_WIDTH], p[NOSE_WIDTH], 1.0, 0.0,
                         -0.5 * p[NOSE_WIDTH]) <= hw:
            return True
    else:  # two sides of a wedge
        if segment_distance(abs(nx), v, 0.0, p[NOSE_TOP], p[NOSE_WIDTH], p[NOSE_BOTTOM]) <= hw:
            return True
    rise = p[MOUTH_RISE]
    if bent_distance(u, v - p[MOUTH_Y] - 0.5 * rise, p[MOUTH_HW], 1.0, 0.0, -rise) <= 1.15 * hw:
        return True

    if p[BANGS] > 0.5:
        edge = p[FRINGE_Y] + p[FRINGE_TILT] * u - p[FRINGE_JAG] * abs(math.sin(p[FRINGE_FREQ] * u))
        if v <= edge:
            return texture(u, v, p[HAIR_STYLE], p[HAIR_FREQ], p[HAIR_ANGLE])
    if p[BEARD] > 0.5 and v >= p[BEARD_TOP]:
        hole_u = p[MOUTH_HW] + 0.02 + 2.0 * hw
        hole_v = 0.5 * abs(rise) + 0.018 + 2.0 * hw
        if (u / hole_u) ** 2 + ((v - p[MOUTH_Y]) / hole_v) ** 2 > 1.0:
            return texture(u, v, 2.0 * p[BEARD_STYLE], 1.2 * p[HAIR_FREQ], 0.0)
    return False


@nb.njit(nogil=True, cache=True)
def render_faces_into(params, out):
    """Draw face ``i`` described by ``params[i]`` into ``out[i]`` (n x size x size uint8, 1 = ink)."""
    size = out.shape[1]
    for i in range(params.shape[0]):
        p = params[i]
        c = math.cos(p[ROTATION])
        s = math.sin(p[ROTATION])
        base_hw = 0.5 * p[STROKE]
        brow_cos = math.cos(p[BROW_TILT])
        brow_sin = math.sin(p[BROW_TILT])
        # a box in the face frame holding every shape, to skip the background quickly
        margin = 2.0 * p[WARP_AMP] + 2.0 * p[STROKE] + 2.0 * p[THICK_AMP]
        u_max = p[FACE_A] + p[HAIR_SIDE] + margin
        v_min = p[FACE_Y] - p[FACE_B] - p[HAIR_TOP] - margin
        if p[HAT] > 0.5:
            u_max = max(u_max, p[HAT_BRIM_HW] + margin)
            v_min = p[HAT_BRIM_Y] - p[HAT_CROWN_H] - margin
        v_max = max(p[FACE_Y] + p[FACE_B], p[HAIR_BOTTOM]) + margin
        for row in range(size):
            y = (row + 0.5) / size - 0.5 - p[SHIFT_Y]
            for col in range(size):
                x = (col + 0.5) / size - 0.5 - p[SHIFT_X]
                u = c * x + s * y
                v = -s * x + c * y
                if abs(u) > u_max or v < v_min or v > v_max:
                    out[i, row, col] = 0
                    continue
                # hand-drawn wobble: a smooth displacement of the pen and a slowly varying stroke width
                u += p[WARP_AMP] * math.sin(p[WARP_K1X] * u + p[WARP_K1Y] * v + p[WARP_P1])
                v += p[WARP_AMP] * math.sin(p[WARP_K2X] * u + p[WARP_K2Y] * v + p[WARP_P2])
                hw = base_hw + p[THICK_AMP] * (1.0 + math.sin(9.0 * (u + v) + p[THICK_P]))
                out[i, row, col] = 1 if face_pixel(p, u, v, hw, brow_cos, brow_sin) else 0
