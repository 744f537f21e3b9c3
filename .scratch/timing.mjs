// crude per-test timing by wrapping uvu's test function
