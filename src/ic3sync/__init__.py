"""ic3sync: enrich the IC3 asset register with the live detail of the Innomaint CMMS."""

__version__ = "0.1.0"
