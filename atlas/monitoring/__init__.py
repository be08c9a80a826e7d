"""Social monitoring (Sozialmonitoring): coverage, accessibility (2SFCA) and gaps per area."""
