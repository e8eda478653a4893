"""amazonei-setup: AWS inference hardware in minutes, gone without a trace afterwards."""

__version__ = "0.1.0"
