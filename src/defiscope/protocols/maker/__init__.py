"""MakerDAO / Sky (dss: Vat, Jug, Spot, Dog, joins): exact vault math and the adapter."""
