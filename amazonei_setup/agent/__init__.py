"""The on-instance agent: checks the accelerator (Elastic Inference, Neuron, NVIDIA), runs a
deterministic smoke-test model, and reports. Standard library only at its core; runs on Python
3.8+ as `python3 -m amazonei_setup.agent` and as the single file `bundle.build_single_file()`
makes for the instance's user data."""
