"""Example clients of allaccess-api; run them against `make run`."""
