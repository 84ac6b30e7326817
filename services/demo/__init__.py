"""The demo province: a month of outreach loaded through the public API, and a collector simulator.

python -m services.demo load       plan, confirm and count the demo province (idempotent)
python -m services.demo simulate   keep the counters of live livestreams moving
"""
