// A strategy module that throws while it is imported.
throw new Error("this strategy module is broken on purpose");
