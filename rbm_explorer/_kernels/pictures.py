"""Tile chain states into a grey mosaic in one pass (``rbm_explorer.pictures.grey_chains``).

Why a kernel: the Morph page makes a mosaic for every frame of every session, on the server's event loop. The
whole-array numpy version (scale, clip, cast, then a transposed copy into the grid) made four passes and
temporaries; here each state value is scaled, rounded and written straight to its pixel of the grid.
"""

import numba as nb


@nb.njit(nogil=True, cache=True)
def grey_tiles_into(v, height, width, columns, offset, factor, top_level, gap_level, out):
    """Write chain ``k`` of ``v`` (chains x height*width) into cell ``divmod(k, columns)`` of ``out``, with a
    one-pixel gap of ``gap_level`` between cells: level = clip((x - low) * factor + 0.5, 0, top_level), where
    ``offset`` is low. Cells past the last chain are gaps as well. NaN states are drawn at level 0."""
    rows_out, cols_out = out.shape
    for r in range(rows_out):
        for c in range(cols_out):
            out[r, c] = gap_level
    n = v.shape[0]
    for k in range(n):
        top = (k // columns) * (height + 1)
        left = (k % columns) * (width + 1)
        for i in range(height):
            for j in range(width):
                x = (v[k, i * width + j] - offset) * factor + 0.5
                if not x > 0.0:  # also NaN
                    level = 0
                elif x >= top_level:
                    level = top_level
                else:
                    level = int(x)
                out[top + i, left + j] = level
