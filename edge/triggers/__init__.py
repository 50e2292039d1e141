"""Triggers at the site: the node evaluates the trigger instances placed on it and runs their actions.

runner.py     TriggerRunner: which instances this node evaluates (HRW over the members,
              like modules), started and stopped as the site and the cluster change
instance.py   InstanceRunner: one instance's status subscriptions, clocks and firings
actions.py    function calls (the node's exec path, admin clearance), e-mails, webhooks
mailer.py     SMTP with STARTTLS or TLS, from the system's `smtp` setting
"""
