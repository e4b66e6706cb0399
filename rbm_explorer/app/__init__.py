"""The Panel app layer: per-session state objects and the views that render them.

This is the only package that imports panel. State objects (``param.Parameterized``) own the sampler thread
and publish read-only parameters; views (``pn.viewable.Viewer``) only render those parameters.
"""
