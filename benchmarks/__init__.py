"""`xinyipi bench`: measured figures, each against a baseline run in the same process (BENCHMARKS.md).

Not part of the running product: nothing in `plugin` or `admin` imports this package except the
`bench` command, and only when it runs.

- `benchmarks.service`: instant approvals through the application service against raw SpiffWorkflow,
  the stored size of a waiting case, the bulk import of subjects, a random inspection draw;
- `benchmarks.admin`: the admin's list pages and searches with a million subjects.
"""
