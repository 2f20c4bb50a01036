"""Developer tooling around the bundle: the ``courier`` command, the demo, a webhook receiver.

Not part of the deployment package (it imports the sandbox, which never ships).
"""
