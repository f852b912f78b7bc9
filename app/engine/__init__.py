"""The operation engine: runs every operation one idempotent step at a time.

    steps.py        what a step returns (Done, Wait, Retry, Fail) and the errors it raises
    retry.py        the retry policy, the one backoff of the code base
    context.py      StepContext (what a step sees) and LeaseLost
    registry.py     which handler runs which operation type
    transitions.py  every status write the engine makes, checked against the state machine
    outcomes.py     what a step's result writes to the operation
    runner.py       OperationEngine: claim, run the step, record the outcome, hand back

The engine sits below the services (whose handlers it runs, knowing them only by the
registry) and above the store and the broker, which it uses through the `Store` protocol
and the operation queue. `app.workers.operation_worker` is the supervised loop around it.
"""
