"""Quantize a decoder's MatMul weights the way Optimum / transformers.js exports are quantized.

Usage: quantize.py MODEL_DIR [--only q8|q4] [--accuracy-level N]

Reads MODEL_DIR/onnx/model.onnx and writes beside it:
- model_quantized.onnx: 8-bit dynamic quantization. Each MatMul whose B is a 2-D float32 initializer becomes
  DynamicQuantizeLinear(A) -> MatMulInteger(uint8 A, int8 B, per-output-channel B scales) -> Cast -> Mul(scale),
  the pattern onnxruntime fuses into DynamicQuantizeMatMul / MatMulIntegerToFloat on CPU.
- model_q4.onnx: 4-bit weights in onnxruntime's com.microsoft MatMulNBits (blocks of 32 along K, one scale and
  one 4-bit zero point per block). MatMuls whose K is not a multiple of 32 stay float32.
Everything else (embedding Gather, norms, attention, the float32 key/value cache) is left as it is.
Needs only onnx and numpy (Debian python3-onnx, python3-numpy).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Q4_BLOCK = 32
MS_DOMAIN = "com.microsoft"


def weight_matmuls(model):
    """(index, node, initializer) of each MatMul whose B input is a 2-D float32 initializer."""
    initializers = {init.name: init for init in model.graph.initializer}
    found = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx"):
            continue
        init = initializers.get(node.input[1])
        if init is not None and init.data_type == TensorProto.FLOAT and len(init.dims) == 2:
            found.append((index, node, init))
    return found


def quantize_q8(weight):
    """Symmetric int8 per output column: B = q * scale, zero point 0 (so the integer product needs no B correction)."""
    scale = np.abs(weight).max(axis=0) / 127.0
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_q4(weight):
    """
    Asymmetric 4-bit blocks of 32 along K for B [K, N]: returns packed B [N, K/32, 16] (element 2i of a block in
    the low nibble of byte i, 2i+1 in the high one), scales [N * K/32] and packed zero points [N * ceil(K/32 / 2)]
    (block 2j of a row in the low nibble, 2j+1 in the high one), as MatMulNBits reads them.
    """
    k, n = weight.shape
    blocks = k // Q4_BLOCK
    w = weight.T.reshape(n, blocks, Q4_BLOCK).astype(np.float32)
    # The range always holds 0, so that a zero weight stays exactly zero.
    low = np.minimum(w.min(axis=2), 0.0)
    high = np.maximum(w.max(axis=2), 0.0)
    scale = (high - low) / 15.0
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    zero = np.clip(np.rint(-low / scale), 0, 15).astype(np.uint8)
    q = np.clip(np.rint(w / scale[:, :, None]) + zero[:, :, None], 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    if blocks % 2:
        zero = np.concatenate([zero, np.zeros((n, 1), np.uint8)], axis=1)
    zero_packed = (zero[:, 0::2] | (zero[:, 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1), zero_packed.reshape(-1)


def dequantize_q4(packed, scale, zero_packed, k, n):
    """The float B [K, N] that MatMulNBits computes with (for the self-check)."""
    blocks = k // Q4_BLOCK
    q = np.empty((n, blocks, Q4_BLOCK), np.float32)
    q[:, :, 0::2] = packed & 0x0F
    q[:, :, 1::2] = packed >> 4
    zp = zero_packed.reshape(n, -1)
    zero = np.empty((n, zp.shape[1] * 2), np.float32)
    zero[:, 0::2] = zp & 0x0F
    zero[:, 1::2] = zp >> 4
    w = (q - zero[:, :blocks, None]) * scale.reshape(n, blocks)[:, :, None]
    return w.reshape(n, k).T


def rewrite(model, make_nodes, domain=None):
    """Replaces each weight MatMul by make_nodes(node, weight) (None leaves it); drops unused float weights."""
    graph = model.graph
    new_nodes, new_inits, done = [], [], {}
    counts = {"quantized": 0, "skipped": []}
    targets = {index: init for index, _, init in weight_matmuls(model)}
    for index, node in enumerate(graph.node):
        init = targets.get(index)
        if init is None:
            new_nodes.append(node)
            continue
        made = make_nodes(node, init, done, new_inits)
        if made is None:
            counts["skipped"].append(f"{node.name or node.output[0]} (B {list(init.dims)})")
            new_nodes.append(node)
            continue
        new_nodes.extend(made)
        counts["quantized"] += 1
    used = {name for node in new_nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    if domain and not any(op.domain == domain for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(domain, 1))
    return counts


def make_q8_nodes(node, init, done, new_inits):
    a, y = node.input[0], node.output[0]
    base = (node.name or y).strip("/").replace("/", "_")
    if init.name not in done:
        q, scale = quantize_q8(numpy_helper.to_array(init))
        names = (f"{init.name}_quantized", f"{init.name}_scale", f"{init.name}_zero_point")
        new_inits.append(numpy_helper.from_array(q, names[0]))
        new_inits.append(numpy_helper.from_array(scale, names[1]))
        new_inits.append(numpy_helper.from_array(np.zeros(scale.shape, np.int8), names[2]))
        done[init.name] = names
    b_q, b_scale, b_zero = done[init.name]
    a_q, a_scale, a_zero = f"{base}_A_quantized", f"{base}_A_scale", f"{base}_A_zero_point"
    return [
        helper.make_node("DynamicQuantizeLinear", [a], [a_q, a_scale, a_zero], name=f"{base}_quant"),
        helper.make_node("MatMulInteger", [a_q, b_q, a_zero, b_zero], [f"{base}_int32"], name=f"{base}_MatMulInteger"),
        helper.make_node("Mul", [a_scale, b_scale], [f"{base}_scale"], name=f"{base}_scale_mul"),
        helper.make_node("Cast", [f"{base}_int32"], [f"{base}_float"], to=TensorProto.FLOAT, name=f"{base}_cast"),
        helper.make_node("Mul", [f"{base}_float", f"{base}_scale"], [y], name=f"{base}_output_mul"),
    ]


def make_q4_factory(accuracy_level):
    def make_q4_nodes(node, init, done, new_inits):
        k, n = init.dims
        if k % Q4_BLOCK:
            return None
        if init.name not in done:
            packed, scale, zero = quantize_q4(numpy_helper.to_array(init))
            names = (f"{init.name}_Q4", f"{init.name}_scales", f"{init.name}_zero_points")
            new_inits.append(numpy_helper.from_array(packed, names[0]))
            new_inits.append(numpy_helper.from_array(scale, names[1]))
            new_inits.append(numpy_helper.from_array(zero, names[2]))
            done[init.name] = names
        base = (node.name or node.output[0]).strip("/").replace("/", "_")
        return [
            helper.make_node("MatMulNBits", [node.input[0], *done[init.name]], [node.output[0]], name=f"{base}_Q4",
                             domain=MS_DOMAIN, K=k, N=n, bits=4, block_size=Q4_BLOCK, accuracy_level=accuracy_level)
        ]
    return make_q4_nodes


def initializer_bytes(model):
    return sum(numpy_helper.to_array(init).nbytes for init in model.graph.initializer)


def self_check_q4(weight):
    """The packing round-trips: dequantized blocks are within half a step of the weights."""
    packed, scale, zero = quantize_q4(weight)
    back = dequantize_q4(packed, scale, zero, *weight.shape)
    step = np.repeat(scale.reshape(weight.shape[1], -1), Q4_BLOCK, axis=1).T
    assert np.all(np.abs(back - weight) <= step * 0.5001 + 1e-7), "4-bit packing does not round-trip"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--only", choices=["q8", "q4"])
    parser.add_argument("--accuracy-level", type=int, default=4,
                        help="MatMulNBits accuracy_level: 0 computes in float32, 4 quantizes A to int8 (default 4)")
    args = parser.parse_args()
    source = os.path.join(args.model_dir, "onnx", "model.onnx")
    if not os.path.exists(source):
        sys.exit(f"{source} not found")
    before_file = os.path.getsize(source)
    jobs = [("q8", "model_quantized.onnx"), ("q4", "model_q4.onnx")]
    for kind, name in jobs:
        if args.only and args.only != kind:
            continue
        model = onnx.load(source)
        before = initializer_bytes(model)
        if kind == "q8":
            counts = rewrite(model, make_q8_nodes)
        else:
            first = weight_matmuls(model)
            if first:
                weight = numpy_helper.to_array(first[0][2])
                self_check_q4(weight[: weight.shape[0] // Q4_BLOCK * Q4_BLOCK])
            counts = rewrite(model, make_q4_factory(args.accuracy_level), MS_DOMAIN)
        target = os.path.join(args.model_dir, "onnx", name)
        onnx.save(model, target)
        after = initializer_bytes(model)
        print(f"{kind}: {counts['quantized']} MatMuls quantized -> {target}")
        for skipped in counts["skipped"]:
            print(f"  left in float32 (K not a multiple of {Q4_BLOCK}): {skipped}")
        print(f"  weights {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB; file {before_file / 1e6:.2f} MB -> "
              f"{os.path.getsize(target) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
