return Percept.Cli.CommandLine.Run(args, Console.Out, Console.Error);
