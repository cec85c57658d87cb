"""Layer selection: the activation probe, SLAM's statistics, the policies, plots and the stage."""
