"""The engine: SpiffWorkflow runs each matter's diagram.

`definitions` parses safely and caches specs, `scripting` is the environment
diagrams run in, `validate` checks and dry-runs a diagram per tier, `publish`
stores versions, `runtime` starts, restores, steps and saves one case's
workflow, and `forms` describes and validates user-task forms.
"""
