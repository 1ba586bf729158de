"""``exp plugins``: installed plugins, their versions and target types."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    def plugins_command(
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List installed target plugins, their versions and the target types they provide."""
        from expkit.cli.output import print_json, print_table
        from expkit.plugins import get_registry

        registry = get_registry()
        infos = registry.plugins()
        types = registry.types
        if as_json:
            print_json(
                [
                    {
                        "name": info.name,
                        "package": info.package,
                        "version": info.version,
                        "types": [
                            {
                                "name": t,
                                "aliases": list(types[t].aliases),
                                "available": types[t].available,
                                "description": types[t].description,
                            }
                            for t in info.types
                            if types[t].name == t
                        ],
                    }
                    for info in infos
                ]
            )
            return
        if not infos:
            from expkit.installhint import install_command

            typer.echo(
                "no target plugins installed: install one, e.g. "
                f"`{install_command('expkit-local')}`.",
                err=True,
            )
            return
        rows = []
        for info in infos:
            for name in info.types:
                ttype = types[name]
                if ttype.name != name:
                    continue
                label = name + (f" ({', '.join(ttype.aliases)})" if ttype.aliases else "")
                status = "" if ttype.available else "not available yet"
                rows.append((info.name, info.package or "", info.version or "", label, status))
        print_table(("plugin", "package", "version", "type", "status"), rows)
