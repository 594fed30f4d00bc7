"""Code that RUNS INSIDE THE SANDBOX, next to untrusted student code.

Each module here is copied into (or run as a script in) a sandbox's working folder, where
nothing of the kit can be imported: the standard library, torch, torchvision, numpy and
safetensors only (a test and an import-linter contract hold it to that). The trusted side
imports these modules too, to run the reference through the very same steps."""
