# Producers, lines, licences, commissioners and daily output arrive with the production
# issue (#5). The app is registered now so its migrations start from the project's first release.
