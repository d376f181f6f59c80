"""Writes the small ONNX files the importer's error tests read.

    /usr/bin/python3 make_inputs.py   (Debian's python3-onnx)

The outputs are committed, so tests need no Python.
"""

import onnx
from onnx import TensorProto, helper


def model(nodes, inits=(), opset=17, inputs=None, outputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="bitnet-mlir tests")


def save(m, name):
    with open(name, "wb") as f:
        f.write(m.SerializeToString())


def main():
    with open("not-onnx.onnx", "w") as f:
        f.write("this is a text file, not a model\n")
    w = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    add = helper.make_node("Add", ["x", "w"], ["y"], name="add0")
    valid = model([add], [w])
    onnx.checker.check_model(valid)
    save(valid, "valid-add.onnx")
    data = valid.SerializeToString()
    with open("truncated.onnx", "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    save(model([helper.make_node("Hardmax", ["x"], ["y"], name="hm")]), "unknown-op.onnx")
    save(model([add], [w], opset=9), "old-opset.onnx")
    bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                      raw_data=b"\0" * 10)
    save(model([add], [bad]), "bad-initializer.onnx")
    ext = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    save(model([add], [ext]), "external-data.onnx")
    custom = helper.make_node("Quantize", ["x"], ["y"], name="q", domain="com.example")
    m = model([custom])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    save(m, "custom-domain.onnx")


if __name__ == "__main__":
    main()
