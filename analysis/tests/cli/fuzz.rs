//! The fuzz suite (issue 11): seeded mutations of archives, NumPy files and tables.
