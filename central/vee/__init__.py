"""VEE: validation, estimation and editing of meter data (REFERENCE §6).

:mod:`central.vee.rules` flags readings, :mod:`central.vee.estimate` fills a missing reading;
both are pure. :mod:`central.vee.service` runs them against the database and corrects bills
built on estimates once an actual reading arrives (cancel and rebill).
"""
