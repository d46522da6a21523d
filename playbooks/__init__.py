"""Response playbooks as data, the durable action queue, and its runners (in-process or Celery).

A playbook (YAML, validated against ``playbooks/schema/playbook.schema.json``) says which
incidents it answers and what steps to take; planning turns a matching incident into action
records; the executor runs one action by id behind the safeguards of
:mod:`responders.safeguards`; the runner moves the queue forward.
"""
