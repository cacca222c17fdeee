#!/usr/bin/env python3
"""Replaces the one custom op in MediaPipe's selfie segmentation model, as tf2onnx leaves it.

tf2onnx converts every op of selfie_segmentation.tflite but the last, MediaPipe's custom
`Convolution2DTransposeBias` (a 2x2, stride-2 transposed convolution plus a bias, on NHWC
tensors, weights OHWI). This writes it as standard ONNX: Transpose to NCHW, ConvTranspose
(weights IOHW, the same bias), Transpose back. Nothing else changes.

    python3 fix_selfie_segmentation.py IN.onnx OUT.onnx
"""
import onnx, numpy as np, sys
from onnx import numpy_helper, helper
m=onnx.load(sys.argv[1])
g=m.graph
inits={i.name:i for i in g.initializer}
idx=[i for i,n in enumerate(g.node) if n.op_type=='TFL_Convolution2DTransposeBias'][0]
n=g.node[idx]
x,wn,bn=n.input
w=numpy_helper.to_array(inits[wn])  # OHWI
b=numpy_helper.to_array(inits[bn])
wt=np.ascontiguousarray(w.transpose(3,0,1,2)).astype(np.float32)  # I O H W
g.initializer.append(numpy_helper.from_array(wt,'segment_w'))
g.initializer.append(numpy_helper.from_array(b.astype(np.float32),'segment_b'))
nodes=[helper.make_node('Transpose',[x],['segment_nchw_in'],perm=[0,3,1,2],name='segment_t_in'),
       helper.make_node('ConvTranspose',['segment_nchw_in','segment_w','segment_b'],['segment_nchw'],strides=[2,2],kernel_shape=[2,2],name='segment_deconv'),
       helper.make_node('Transpose',['segment_nchw'],[n.output[0]],perm=[0,2,3,1],name='segment_t_out')]
del g.node[idx]
for name in (wn, bn):
    if not any(name in nn.input for nn in g.node):
        g.initializer.remove(inits[name])
for k,nn in enumerate(nodes): g.node.insert(idx+k,nn)
# drop custom opset imports
keep=[o for o in m.opset_import if o.domain in ('','ai.onnx')]
del m.opset_import[:]; m.opset_import.extend(keep)
onnx.checker.check_model(m)
onnx.save(m,sys.argv[2])
