"""2-D convolution (PyTorch's cross-correlation): forward and the three gradients, as Numba loops.

Shapes use the notation of :mod:`mint.kernels`. With ``x_pad`` the input zero-padded by
``(PH, PW)``, the forward is, for every ``(n, co, oh, ow)``::

    out[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} weight[co, ci, kh, kw]
                                      * x_pad[n, ci, oh * SH + kh * DH, ow * SW + kw * DW]

Each public function is a few lines of Python that prepare layouts (reordered weights with
NumPy; padded and channels-last copies from :mod:`mint.kernels.layouts`: one pass over memory
each, into arrays kept from call to call) and call one parallel kernel. A parallel kernel holds
exactly one ``prange`` loop, whose body calls plain ``@njit`` helpers, and no array expressions:
Numba compiles every ``prange`` loop, and every array expression of a parallel function, as a
separate parallel function, which made the first-ever compilation of these kernels take most of
a minute (section 2 of ``docs/implementation.md``).

The forward and the input gradient are both correlations, so they share :func:`_correlate_rows`.
The map being slid over is first copied, padded, to channels-last ``(N, rows, cols, C)``: then
each receptive field is ``KH * KW`` contiguous runs of ``C`` values, gathered into a small patch
matrix per output row, and the sums become dot products of contiguous rows in
:func:`mint.kernels.products.accumulate_dots`, which LLVM vectorises with the sums held in
registers.
"""

from functools import cache
from math import gcd

import numpy as np
from numba import njit, prange

from mint.kernels.layouts import (
    channel_parts,
    channels_last,
    copy_image,
    gather_columns,
    padded,
    zero_image,
)
from mint.kernels.products import accumulate_dots, accumulate_outer

# The weight gradient sums over the batch in this many independent chunks, reduced at the end: a
# constant rather than the thread count, so results do not depend on the number of threads.
_BATCH_CHUNKS = 8
# The weight gradient's dot products run over the pixels of several images at once, about this
# many pixels: one image's H_out * W_out (196 in lenet's second layer) is short enough that the
# ends of each sum (adding up the vector accumulators, the leftover pixels) cost a third of the
# time. Longer ones would no longer keep the columns of a product in L2.
_PIXELS_PER_PRODUCT = 800
# The weight gradient cuts its output channels into runs of at least this many when the chunks
# of the batch are too few to keep the threads busy.
_MIN_CHANNEL_RUN = 32
# Below this receptive-field length K = C_in * KH * KW, below _FEW_CHANNELS input channels, or
# for a 1x1 kernel, the forward runs through accumulate_outer, along the output's pixels: dot
# products of length K are too short to vectorise well; with 1-3 channels (a stem's 7 x 7 x 3)
# the patch matrix of each row is gathered from runs of 1-3 values, more copying than
# arithmetic; and a 1x1 kernel's columns are the input's own rows (ResNet-50's 1x1 layers
# 1.8-2.1x faster than by dot products, one thread; 3x3 layers with many channels 5-9% slower).
_SHORT_K = 64
# ... in bands of output rows of about this many pixels: a band's 4 output channels at a time
# stay in L1 over all K / 4 passes (whole 112 x 112 images went through L2: a stem 1.8x slower).
_BAND_PIXELS = 512
# Below this many input channels (a first layer's 1 or 3), the forward goes by bands (above), and
# the input gradient scatters each output gradient plane through _scatter_image: the gather
# form would copy a patch of C_out * KH * KW values for every C_in (< 4) dot products of that
# length, more copying than arithmetic.
_FEW_CHANNELS = 4

# --------------------------------------------------------------------------------- inner helpers


@njit(cache=True)
def _forward_band(image_pad, weight_flat, bias, kernel_hw, stride, dilation, first, rows,
                  out_image):
    """Output rows ``first, ..., first + rows - 1`` of out_image (C_out, H_out, W_out) (fewer
    at its end): bias + weight_flat (C_out, K) @ the columns of the padded image
    (:func:`gather_columns`) under those rows. The forward for a short receptive field ``K`` or
    few input channels."""
    C_out, H_out, W_out = out_image.shape
    rows = min(H_out - first, rows)
    columns = np.empty((weight_flat.shape[1], 1, rows, W_out), dtype=image_pad.dtype)
    # np.intp(0): a literal 0 would compile gather_columns once more, for Literal[int](0)
    # (Numba compiles a jitted callee once per set of literal arguments).
    gather_columns(image_pad, first * stride[0], kernel_hw, stride, dilation, columns,
                   np.intp(0))
    if rows == H_out:  # the whole image: its output is the band, without a copy
        band = out_image.reshape(C_out, H_out * W_out)
    else:
        band = np.empty((C_out, rows * W_out), dtype=image_pad.dtype)
    for co in range(C_out):
        for p in range(rows * W_out):
            band[co, p] = bias[co]
    accumulate_outer(weight_flat, columns.reshape(-1, rows * W_out), band)
    if rows < H_out:
        for co in range(C_out):
            for r in range(rows):
                for c in range(W_out):
                    out_image[co, first + r, c] = band[co, r * W_out + c]


@njit(cache=True)
def _accumulate_chunk(grad_out, x_pad, start, step, g, first, kernel_hw, stride, dilation, B,
                      partial_c):
    """partial_c (C_part, C_in * KH * KW) += the weight gradient of output channels first, ...,
    first + C_part - 1 of group g over images start, start + step, ... of grad_out (N, G, C_out,
    H_out, W_out) and x_pad (N, G, C_in, H_in + 2 * PH, W_in + 2 * PW), B at a time, as one
    product of matrices whose rows hold the B images side by side::

        partial_c[co, k] += sum_{b, p} grad_rows[co, b, p] * columns[k, b, p]

    with columns (K, B, H_out, W_out) the images' columns (:func:`gather_columns`) and
    grad_rows (C_part, B, H_out, W_out) their grad_out: the dot products run over B * H_out *
    W_out pixels instead of one image's. Slots past the last image are zeroed. The images are
    read as ``x_pad[n, g]``, whole planes of a contiguous array: from a strided view of the
    batch, the gathers' copies did not vectorise.
    """
    N, H_out, W_out = grad_out.shape[0], grad_out.shape[3], grad_out.shape[4]
    C_part, K = partial_c.shape
    columns = np.empty((K, B, H_out, W_out), dtype=x_pad.dtype)
    grad_rows = np.empty((C_part, B, H_out, W_out), dtype=x_pad.dtype)
    for n0 in range(start, N, B * step):
        for b in range(B):
            n = n0 + b * step
            if n < N:
                # np.intp(0): one compilation of gather_columns (as in _forward_band).
                gather_columns(x_pad[n, g], np.intp(0), kernel_hw, stride, dilation, columns,
                               b)
                copy_image(grad_out[n, g], first, grad_rows, b)
            else:
                zero_image(columns, b)
                zero_image(grad_rows, b)
        accumulate_dots(columns.reshape(K, -1), grad_rows.reshape(C_part, -1), partial_c)


@njit(cache=True)
def _correlate_row(image, r, origin, kernel_hw, stride, dilation, weight_rows, bias, out_row):
    """Output row ``r`` of a correlation over a channels-last image::

        out_row[j, c] = bias[j] + sum_{kh, kw, ci} weight_rows[j, (kh, kw, ci)]
                        * image[origin_h + r * SH + kh * DH, origin_w + c * SW + kw * DW, ci]

    image (rows, cols, C), weight_rows (J, KH * KW * C), bias (J,), out_row (J, cols_out). The
    receptive fields of the row are first copied into a patch matrix (cols_out, KH * KW * C).
    """
    C = image.shape[2]
    (KH, KW), (SH, SW), (DH, DW) = kernel_hw, stride, dilation
    J, cols_out = out_row.shape
    patches = np.empty((cols_out, KH * KW * C), dtype=image.dtype)
    for c in range(cols_out):
        for kh in range(KH):
            row = origin[0] + r * SH + kh * DH
            for kw in range(KW):
                col = origin[1] + c * SW + kw * DW
                start = (kh * KW + kw) * C
                for ci in range(C):
                    patches[c, start + ci] = image[row, col, ci]
    for j in range(J):
        for c in range(cols_out):
            out_row[j, c] = bias[j]
    accumulate_dots(patches, weight_rows, out_row)


@njit(cache=True, fastmath=True)
def _scatter_image(grad_image, weight, stride, padding, dilation, grad_x_image):
    """Equation (C6) in scatter form for one image: every output-gradient pixel adds its
    weighted value to the input pixels its window read::

        grad_pad[ci, oh * SH + kh * DH, ow * SW + kw * DW] += weight[co, ci, kh, kw]
                                                              * grad_image[co, oh, ow]

    grad_image (C_out, H_out, W_out), weight (C_out, C_in, KH, KW), grad_x_image (C_in, H_in,
    W_in); grad_pad (C_in, H_in + 2 * PH, W_in + 2 * PW) is the input gradient with the forward's
    padding around it, which is cropped off into grad_x_image (section 3.4). Only real output
    pixels are visited, so a stride costs no multiply-adds on zeros.
    """
    C_out, C_in, KH, KW = weight.shape
    H_out, W_out = grad_image.shape[1], grad_image.shape[2]
    H_in, W_in = grad_x_image.shape[1], grad_x_image.shape[2]
    (SH, SW), (PH, PW), (DH, DW) = stride, padding, dilation
    grad_pad = np.zeros((C_in, H_in + 2 * PH, W_in + 2 * PW), dtype=grad_x_image.dtype)
    zero = weight.dtype.type(0)
    # Four output channels per pass over the pixels, so each load and store of grad_pad carries
    # four multiply-adds (one per pass spent most of its time storing: 2x slower). Past the last
    # channel, a block repeats the last one with weight 0.
    for co in range(0, C_out, 4):
        c1, c2, c3 = min(co + 1, C_out - 1), min(co + 2, C_out - 1), min(co + 3, C_out - 1)
        g0, g1, g2, g3 = grad_image[co], grad_image[c1], grad_image[c2], grad_image[c3]
        for ci in range(C_in):
            for kh in range(KH):
                for kw in range(KW):
                    v0 = weight[co, ci, kh, kw]
                    v1 = weight[c1, ci, kh, kw] if co + 1 < C_out else zero
                    v2 = weight[c2, ci, kh, kw] if co + 2 < C_out else zero
                    v3 = weight[c3, ci, kh, kw] if co + 3 < C_out else zero
                    # The (H_out, W_out) pixels this tap reached, as a strided view indexed by
                    # (oh, ow) themselves: a computed index would get a negative-index check
                    # from Numba, which keeps LLVM from vectorising the loop.
                    target = grad_pad[ci, kh * DH:kh * DH + (H_out - 1) * SH + 1:SH,
                                      kw * DW:kw * DW + (W_out - 1) * SW + 1:SW]
                    for oh in range(H_out):
                        for ow in range(W_out):
                            target[oh, ow] += (v0 * g0[oh, ow] + v1 * g1[oh, ow]
                                               + v2 * g2[oh, ow] + v3 * g3[oh, ow])
    for ci in range(C_in):
        for h in range(H_in):
            for w in range(W_in):
                grad_x_image[ci, h, w] = grad_pad[ci, PH + h, PW + w]


@njit(cache=True, fastmath=True, inline="always")
def _depthwise_plane(plane_pad, weight, bias, KH, KW, out):
    """(G1) with unit stride and dilation for a group of one input channel: out (M, H_out,
    W_out) from plane_pad (H_in + 2 * PH, W_in + 2 * PW), weight (M, KH, KW), bias (M,), its
    M = C_out / G output channels::

        out[q, oh, ow] = bias[q] + sum_{kh, kw} weight[q, kh, kw] * plane_pad[oh + kh, ow + kw]
    """
    M, H_out, W_out = out.shape
    for q in range(M):
        for oh in range(H_out):
            for ow in range(W_out):
                total = bias[q]
                for kh in range(KH):
                    for kw in range(KW):
                        total += weight[q, kh, kw] * plane_pad[oh + kh, ow + kw]
                out[q, oh, ow] = total


@cache
def _depthwise_forward_kernel(KH, KW):
    """The forward kernel of a depthwise convolution (one input channel per group) with KH x KW
    taps, unit stride and dilation, compiled once per kernel size. KH and KW are compile-time
    constants (closure variables, the helper inlined), so LLVM unrolls the taps, keeps each
    pixel's sum in a register and vectorises along ``ow``: 0.7 ms against 11 ms for the general
    path on 64 x 32 x 14 x 14 maps with a 3 x 3 kernel, one thread. The closure refers to
    module-level functions only, so Numba's disk cache keeps it (as ``max_pool2d``'s)."""

    @njit(parallel=True, cache=True)
    def depthwise_planes(x_pad, weight, bias, out):
        """Every plane b of out (B, M, H_out, W_out) from x_pad[b] (B, H_in + 2 * PH, W_in + 2 *
        PW) by :func:`_depthwise_plane`, with weight[b % G], bias[b % G] of weight (G, M, KH,
        KW), bias (G, M)."""
        G = weight.shape[0]
        # Race-free: iteration b writes only out[b].
        for b in prange(out.shape[0]):
            _depthwise_plane(x_pad[b], weight[b % G], bias[b % G], KH, KW, out[b])

    return depthwise_planes


# ------------------------------------------------------------- parallel kernels: one prange each


# The parallel kernels see a grouped convolution (section 3.7 of docs/backprop.md) as a batch of
# N * G images of one group each: an (N, G * C, H, W) array is an (N * G, C, H, W) one without a
# copy, and image b belongs to group b % G, whose weights are weight[b % G]. With G = 1 this is
# the plain convolution.


@njit(parallel=True, cache=True)
def _correlate_rows(src, weight_rows, bias, kernel_hw, origin, stride, dilation, out):
    """Every row of out (B, J, rows_out, cols_out) by :func:`_correlate_row` over the
    channels-last src (B, rows, cols, C), image b with weight_rows[b % G] (J, KH * KW * C) and
    bias[b % G] (J,) of weight_rows (G, J, KH * KW * C), bias (G, J)."""
    rows_out, G = out.shape[2], weight_rows.shape[0]
    # Race-free: iteration (b, r) writes only out[b, :, r, :] and its own patch buffer.
    for row in prange(out.shape[0] * rows_out):
        b, r = row // rows_out, row % rows_out
        _correlate_row(src[b], r, origin, kernel_hw, stride, dilation, weight_rows[b % G],
                       bias[b % G], out[b, :, r, :])


@njit(parallel=True, cache=True)
def _forward_bands(x_pad, weight_flat, bias, kernel_hw, stride, dilation, rows, out):
    """Every band of ``rows`` output rows of every image b of out (B, J, H_out, W_out) by
    :func:`_forward_band`, with weight_flat[b % G] and bias[b % G] of weight_flat (G, J, K),
    bias (G, J)."""
    G, bands = weight_flat.shape[0], -(-out.shape[2] // rows)
    # Race-free: iteration (b, i) writes only rows i * rows, ... of out[b] and its own buffers.
    for q in prange(out.shape[0] * bands):
        b, first = q // bands, q % bands * rows
        _forward_band(x_pad[b], weight_flat[b % G], bias[b % G], kernel_hw, stride, dilation,
                      first, rows, out[b])


@njit(parallel=True, cache=True)
def _scatter_images(grad_out, weight, stride, padding, dilation, grad_x):
    """Every image b of grad_x (B, C_in, H_in, W_in) by :func:`_scatter_image`, with
    weight[b % G] of weight (G, C_out, C_in, KH, KW)."""
    G = weight.shape[0]
    # Race-free: iteration b writes only grad_x[b] and its own padded buffer; the overlapping
    # windows of one image add up one after the other on that thread.
    for b in prange(grad_out.shape[0]):
        _scatter_image(grad_out[b], weight[b % G], stride, padding, dilation, grad_x[b])


@njit(parallel=True, cache=True)
def _weight_gradient_chunks(grad_out, x_pad, kernel_hw, stride, dilation, B, parts, partial):
    """partial[c, g] (C_out, C_in * KH * KW) += the weight gradient of group g of images c,
    c + chunks, ..., by :func:`_accumulate_chunk`, its output channels in ``parts`` runs:
    grad_out (N, G, C_out, H_out, W_out), x_pad (N, G, C_in, H_in + 2 * PH, W_in + 2 * PW),
    partial (chunks, G, C_out, C_in * KH * KW)."""
    chunks, G, C_out = partial.shape[0], partial.shape[1], partial.shape[2]
    run = -(-C_out // parts)
    # Race-free: iteration (c, g, p) handles group g of images c, c + chunks, ... for output
    # channels p * run, ..., and writes only those rows of partial[c, g] and its own buffers.
    for q in prange(chunks * G * parts):
        c, g, p = q // (G * parts), q // parts % G, q % parts
        first, last = p * run, min(C_out, (p + 1) * run)
        _accumulate_chunk(grad_out, x_pad, c, chunks, g, first, kernel_hw, stride, dilation, B,
                          partial[c, g, first:last])


# -------------------------------------------------------------------------------- layout helpers


def _band_rows(H_out, W_out):
    """Output rows per band of :func:`_forward_bands`: about _BAND_PIXELS pixels, or the whole
    image when it is not much larger."""
    return H_out if H_out * W_out <= 2 * _BAND_PIXELS else max(1, _BAND_PIXELS // W_out)


def _taps_of_phase(size, step, dilation, phase):
    """Taps ``k`` (0 <= k < size) with ``k * dilation % step == phase``, last tap first."""
    return [k for k in range(size - 1, -1, -1) if k * dilation % step == phase]


# --------------------------------------------------------------------------------------- kernels


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """Direct convolution, equation (C1) (the module docstring), of ``groups`` groups (G1).

    x (N, C_in, H_in, W_in), weight (C_out, C_in / G, KH, KW), bias (C_out,) -> (N, C_out,
    H_out, W_out). Each group is an image of its own (the note above the parallel kernels). For
    a long receptive field ``K = C_in / G * KH * KW``, x is copied, padded, to channels-last
    ``x_last`` (N * G, H_in + 2 * PH, W_in + 2 * PW, C_in / G), the weight to rows
    ``weight_rows[g, co, (kh, kw, ci)]``, and each output row is a patch matrix times their
    transpose (:func:`_correlate_rows`). For a short one, few input channels or a 1x1 kernel,
    each band of output rows is ``weight.reshape(C_out, K) @ columns`` (:func:`_forward_bands`).
    """
    N, C_in, H_in, W_in = x.shape
    C_out, C_group, KH, KW = weight.shape
    (SH, SW), (PH, PW), (DH, DW), G = stride, padding, dilation, groups
    H_out = (H_in + 2 * PH - DH * (KH - 1) - 1) // SH + 1
    W_out = (W_in + 2 * PW - DW * (KW - 1) - 1) // SW + 1
    K = C_group * KH * KW
    out = np.empty((N, C_out, H_out, W_out), dtype=x.dtype)
    out_images = out.reshape(N * G, C_out // G, H_out, W_out)
    bias_rows = bias.reshape(G, C_out // G)
    # Depthwise (several groups of one input channel), unit stride and dilation. One group of
    # one channel (a first layer on grey images) keeps the general path, tuned for it.
    if G > 1 and C_group == 1 and stride == dilation == (1, 1):
        x_pad = padded(x, padding)
        _depthwise_forward_kernel(KH, KW)(x_pad.reshape(N * G, *x_pad.shape[2:]),
                                          weight.reshape(G, C_out // G, KH, KW), bias_rows,
                                          out_images)
        return out
    if K < _SHORT_K or C_group < _FEW_CHANNELS or KH == KW == 1:
        x_pad = padded(x, padding)
        _forward_bands(x_pad.reshape(N * G, C_group, *x_pad.shape[2:]),
                       weight.reshape(G, C_out // G, K), bias_rows, (KH, KW), stride, dilation,
                       _band_rows(H_out, W_out), out_images)
        return out
    x_last = channels_last(x.reshape(N * G, C_group, H_in, W_in), padding,
                            (H_in + 2 * PH, W_in + 2 * PW))
    weight_rows = np.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(G, C_out // G, K)
    _correlate_rows(x_last, weight_rows, bias_rows, (KH, KW), (0, 0), stride, dilation,
                    out_images)
    return out


def conv2d_backward_input(grad_out, weight, input_hw, stride, padding, dilation, groups):
    """dL/dx, equation (C6), computed as (C7) without the inserted zeros, for each of
    ``groups`` groups (G2): grad_out (N, C_out, H_out, W_out), weight (C_out, C_in / G, KH, KW),
    input_hw (H_in, W_in) -> (N, C_in, H_in, W_in). With fewer than 4 input channels per group
    it scatters instead (:func:`_scatter_image`).

    grad_out may have fewer rows or columns than the convolution of an (H_in, W_in) input gives
    (H_out of (C2)): the missing ones count as zeros. This is the transposed convolution (T1).

    (C7) slides the rotated kernel over ``g_pad``, grad_out with SH - 1 zero rows inserted
    between its rows (SW - 1 columns). Along rows (columns alike): in (C6), tap ``kh`` reaches
    input row ``h_in`` from output row ``oh = (h_in + PH - kh * DH) / SH``, which exists only
    if SH divides ``h_in + PH - kh * DH``. So the input rows of one *phase*
    ``(h_in + PH) % SH`` receive only the taps with ``kh * DH % SH`` equal to it; every other
    tap meets an inserted zero of ``g_pad``. Writing ``h_in + PH = q * SH + phase`` gives
    ``oh = q - kh * DH // SH``: per phase, a unit-stride correlation of grad_out (not
    zero-inserted) with the phase's taps, last tap first (the rotation of (C7)), spaced
    ``DH / gcd(DH, SH)`` rows apart. Each phase ``(phase_h, phase_w)`` is one call of
    :func:`_correlate_rows`, with ``rot_rows[g, ci, (kh, kw, co)] = weight[g * C_out / G + co,
    ci, kh, kw]`` over its taps, on the channels-last grad_out with
    ``front = DH * (KH - 1) // SH`` zero rows in front (``oh < 0``) and zeros after it
    (``oh >= H_out``), writing the strided view of grad_x holding its input rows and columns.
    A phase without taps (SH > DH * (KH - 1) + 1, or dilation gaps) leaves its rows at zero:
    they are the rows of (C9) that no window reads. With unit stride there is one phase with
    every tap, and this is (C7) as written.
    """
    N, C_out, H_out, W_out = grad_out.shape
    _, C_group, KH, KW = weight.shape
    (H_in, W_in), (SH, SW), (PH, PW), (DH, DW) = input_hw, stride, padding, dilation
    G = groups
    grad_x = np.zeros((N, C_group * G, H_in, W_in), dtype=grad_out.dtype)
    grad_images = grad_out.reshape(N * G, C_out // G, H_out, W_out)
    grad_x_images = grad_x.reshape(N * G, C_group, H_in, W_in)
    group_weight = weight.reshape(G, C_out // G, C_group, KH, KW)
    if C_group < _FEW_CHANNELS:
        _scatter_images(grad_images, group_weight, stride, padding, dilation, grad_x_images)
        return grad_x
    front_h, front_w = DH * (KH - 1) // SH, DW * (KW - 1) // SW
    rows = front_h + max(H_out, (H_in - 1 + PH) // SH + 1)
    cols = front_w + max(W_out, (W_in - 1 + PW) // SW + 1)
    g_last = channels_last(grad_images, (front_h, front_w), (rows, cols))
    no_bias = np.zeros((G, C_group), dtype=grad_out.dtype)
    for phase_h in range(SH):
        taps_h = _taps_of_phase(KH, SH, DH, phase_h)
        top = (phase_h - PH) % SH  # the first input row of this phase
        for phase_w in range(SW):
            taps_w = _taps_of_phase(KW, SW, DW, phase_w)
            left = (phase_w - PW) % SW
            target = grad_x_images[:, :, top::SH, left::SW]
            if not taps_h or not taps_w or target.size == 0:
                continue
            rot = group_weight[:, :, :, taps_h][:, :, :, :, taps_w].transpose(0, 2, 3, 4, 1)
            rot_rows = np.ascontiguousarray(rot).reshape(G, C_group, -1)
            origin = (front_h + (top + PH) // SH - taps_h[0] * DH // SH,
                      front_w + (left + PW) // SW - taps_w[0] * DW // SW)
            _correlate_rows(g_last, rot_rows, no_bias, (len(taps_h), len(taps_w)), origin,
                            (1, 1), (DH // gcd(DH, SH), DW // gcd(DW, SW)), target)
    return grad_x


def conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation, groups):
    """dL/dweight, equation (C4), (C5) without the inserted zeros, for each of ``groups``
    groups (G3): grad_out (N, C_out, H_out, W_out), x (N, C_in, H_in, W_in), kernel_hw (KH, KW)
    -> (C_out, C_in / G, KH, KW). With ``g`` the group of output channel ``co`` and
    ``C = C_in / G``::

        grad_w[co, ci, kh, kw] = sum_{n, oh, ow} grad_out[n, co, oh, ow]
                                 * x_pad[n, g * C + ci, oh * SH + kh * DH, ow * SW + kw * DW]

    i.e. the output gradient, zeros inserted for the stride, is the kernel slid over ``x_pad``
    with step ``(DH, DW)``; skipping the inserted zeros leaves these sums. Per image and group,
    it is ``grad_out[n, group].reshape(C_out / G, -1) @ columns.T``, a few images per product
    (:func:`_weight_gradient_chunks`). grad_out may have fewer rows or columns than (C2) gives,
    as in :func:`conv2d_backward_input`.
    """
    N, C_out, H_out, W_out = grad_out.shape
    C_in, G = x.shape[1], groups
    KH, KW = kernel_hw
    # Images per product: about _PIXELS_PER_PRODUCT pixels; the chunks (at most _BATCH_CHUNKS)
    # get at least that many images each, so small maps (ResNet-18's 7 x 7) are not summed one
    # image of 49 pixels at a time, then the images per product are shared out evenly.
    per_product = max(1, _PIXELS_PER_PRODUCT // max(H_out * W_out, 1))
    chunks = max(1, min(_BATCH_CHUNKS, -(-N // per_product)))
    images = max(1, min(per_product, -(-N // chunks)))
    # Fewer chunks and groups than two per thread: the output channels are cut into runs too.
    parts = channel_parts(C_out // G, chunks * G, _MIN_CHANNEL_RUN)
    partial = np.zeros((chunks, G, C_out // G, C_in // G * KH * KW), dtype=x.dtype)
    x_pad = padded(x, padding)
    _weight_gradient_chunks(grad_out.reshape(N, G, C_out // G, H_out, W_out),
                            x_pad.reshape(N, G, C_in // G, *x_pad.shape[2:]), kernel_hw, stride,
                            dilation, images, parts, partial)
    return partial.sum(axis=0).reshape(C_out, C_in // G, KH, KW)


# reassoc: the sum may be reordered, so it vectorises instead of waiting on one add at a time.
@njit(parallel=True, cache=True, fastmath={"reassoc"})
def conv2d_backward_bias(grad_out):
    """dL/dbias[co] = sum_{n, oh, ow} grad_out[n, co, oh, ow], equation (C3): grad_out (N,
    C_out, H_out, W_out) -> (C_out,)."""
    N, C_out, H_out, W_out = grad_out.shape
    planes = grad_out.reshape(N, C_out, H_out * W_out)
    grad_b = np.empty(C_out, dtype=grad_out.dtype)
    # Race-free: iteration co writes only grad_b[co].
    for co in prange(C_out):
        total = grad_out.dtype.type(0)
        for n in range(N):
            for p in range(planes.shape[2]):
                total += planes[n, co, p]
        grad_b[co] = total
    return grad_b
