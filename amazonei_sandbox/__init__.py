"""The sandbox: an embedded local AWS (moto on 127.0.0.1) seeded to look like a real region.

`seed` fills moto's gaps (Deep Learning AMIs, their SSM public parameters, where Elastic Inference
exists); `server` is the background process; `control` starts, finds and stops it.
"""
