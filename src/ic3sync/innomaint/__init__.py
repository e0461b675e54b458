"""Everything that knows the Innomaint API: its response models, the client and a simulator."""
